"""The catalogue filter language, parsed and evaluated without ``eval``.

The same grammar and the same answers as the viewer's
``frontend/static/frontend/js/filterexpr.js``; both are tested on one table
of cases, ``tests/support/filter_cases.json``::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand (op operand | "between" operand "and" operand)
                | "(" or ")"
    op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~"
    operand    := number | "-" number | string | column
    column     := identifier | `back-quoted name`

Keywords are case-insensitive. A comparison is true only when both sides
are numbers or both are strings (``!=`` included): a missing value or a
mixed pair is never a match, as in SQL. ``~`` is a case-insensitive
substring test, not a regular expression, so no input can make it slow.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Longer filters than anyone types; with the depth cap they bound the work a
# request can ask for (the parser is recursive).
MAX_FILTER_CHARS = 1000
MAX_DEPTH = 32

POSITION_COLUMNS = ("name", "ra", "dec")
KEYWORDS = ("and", "or", "not", "between")
OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">", "~")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op>==|!=|<=|>=|=|<|>|~)
  | (?P<punct>[()\-])
    """,
    re.VERBOSE,
)


class FilterError(ValueError):
    """A filter that does not parse; the message names the place, e.g. ``unexpected ')' at 14``."""


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, column, keyword, op, punct, end
    text: str
    value: Any
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    at = 0
    while at < len(text):
        char = text[at]
        if char in "\"'`":
            end, value = _quoted(text, at)
            kind = "column" if char == "`" else "string"
            tokens.append(_Token(kind, text[at:end], value, at))
            at = end
            continue
        match = _TOKEN.match(text, at)
        if match is None:
            raise FilterError(f"unexpected character {char!r} at {at}")
        kind, word = match.lastgroup, match.group()
        if kind == "number":
            tokens.append(_Token("number", word, float(word), at))
        elif kind == "word":
            lowered = word.lower()
            if lowered in KEYWORDS:
                tokens.append(_Token("keyword", word, lowered, at))
            else:
                tokens.append(_Token("column", word, word, at))
        elif kind != "space":
            tokens.append(_Token(kind, word, word, at))
        at = match.end()
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


def _quoted(text: str, start: int) -> tuple[int, str]:
    """(index after the closing quote, the text between) for the quote at ``start``."""
    quote = text[start]
    chars = []
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            chars.append(text[at + 1])
            at += 2
        elif char == quote:
            return at + 1, "".join(chars)
        else:
            chars.append(char)
            at += 1
    raise FilterError(f"unterminated {'name' if quote == '`' else 'string'} at {start}")


Predicate = Callable[[Mapping[str, Any]], bool]
Operand = Callable[[Mapping[str, Any]], Any]


def _is_number(value: Any) -> bool:
    # bool is an int to Python, never a number to the JSON the viewer reads.
    return type(value) in (int, float) and not math.isnan(value)


def _comparable(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return True
    return isinstance(left, str) and isinstance(right, str)


_COMPARE = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _column_value(row: Mapping[str, Any], column: str) -> Any:
    if column in POSITION_COLUMNS:
        return row.get(column)
    extra = row.get("extra")
    return extra.get(column) if isinstance(extra, Mapping) else None


class _Parser:
    def __init__(self, text: str, columns: set[str] | None):
        self.tokens = _tokens(text)
        self.index = 0
        self.columns = columns

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value == word

    def unexpected(self, token: _Token) -> FilterError:
        if token.kind == "end":
            return FilterError(f"unexpected end of filter at {token.at}")
        return FilterError(f"unexpected {token.text!r} at {token.at}")

    def parse(self) -> Predicate:
        predicate = self.disjunction(0)
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())
        return predicate

    def disjunction(self, depth: int) -> Predicate:
        parts = [self.conjunction(depth)]
        while self.is_keyword("or"):
            self.take()
            parts.append(self.conjunction(depth))
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(part(row) for part in parts)

    def conjunction(self, depth: int) -> Predicate:
        parts = [self.negation(depth)]
        while self.is_keyword("and"):
            self.take()
            parts.append(self.negation(depth))
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(part(row) for part in parts)

    def negation(self, depth: int) -> Predicate:
        if depth >= MAX_DEPTH:
            raise FilterError(f"filter nested deeper than {MAX_DEPTH} at {self.peek().at}")
        if self.is_keyword("not"):
            self.take()
            inner = self.negation(depth + 1)
            return lambda row: not inner(row)
        return self.comparison(depth)

    def comparison(self, depth: int) -> Predicate:
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.disjunction(depth + 1)
            closing = self.take()
            if not (closing.kind == "punct" and closing.text == ")"):
                raise self.unexpected(closing)
            return inner
        left = self.operand()
        if self.is_keyword("between"):
            self.take()
            low = self.operand()
            if not self.is_keyword("and"):
                raise self.unexpected(self.peek())
            self.take()
            high = self.operand()
            return _between(left, low, high)
        op = self.take()
        if op.kind != "op":
            raise self.unexpected(op)
        return _compare(op.text, left, self.operand())

    def operand(self) -> Operand:
        token = self.take()
        if token.kind == "punct" and token.text == "-" and self.peek().kind == "number":
            value = -self.take().value
            return lambda row: value
        if token.kind in ("number", "string"):
            value = token.value
            return lambda row: value
        if token.kind == "column":
            name = token.value
            if self.columns is not None and name not in self.columns:
                raise FilterError(f"unknown column {name!r} at {token.at}")
            return lambda row: _column_value(row, name)
        raise self.unexpected(token)


def _compare(op: str, left: Operand, right: Operand) -> Predicate:
    if op == "~":

        def contains(row):
            a, b = left(row), right(row)
            return isinstance(a, str) and isinstance(b, str) and b.lower() in a.lower()

        return contains
    test = _COMPARE[op]

    def compare(row):
        a, b = left(row), right(row)
        return _comparable(a, b) and test(a, b)

    return compare


def _between(value: Operand, low: Operand, high: Operand) -> Predicate:
    def between(row):
        v, a, b = value(row), low(row), high(row)
        return _comparable(v, a) and _comparable(v, b) and a <= v <= b

    return between


def parse_filter(text: str, columns: list[str] | None = None) -> Predicate:
    """A predicate over sources (``{"name", "ra", "dec", "extra": {...}}``) for ``text``.

    Parameters
    ----------
    text : str
        The filter, e.g. ``snr > 5 and flux_mJy < 100``.
    columns : list of str, optional
        The extra columns the catalogue has; a name outside them and
        ``name``, ``ra``, ``dec`` is an error. Any name is accepted without.

    Raises
    ------
    FilterError
        Empty, too long, too deep, or not in the grammar; the message gives
        the character position.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"filter longer than {MAX_FILTER_CHARS} characters")
    if not text.strip():
        raise FilterError("empty filter")
    known = None if columns is None else {*POSITION_COLUMNS, *columns}
    return _Parser(text, known).parse()
