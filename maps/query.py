"""Query-string and path-segment parsers of the image endpoints.

Each raises ``BadRequest`` (a 400 with ``{"detail": ...}``) naming the
parameter and echoing a bounded part of what was sent.
"""

import math
import re

from maps.engine.colormap import UnknownColourMapError, lookup_table
from maps.engine.stretch import DEFAULT_ASINH_A, DEFAULT_GAMMA, STRETCHES
from maps.tiles import RenderOptions
from tilemaker_site.booleans import boolean_word
from tilemaker_site.errors import BadRequest

# Echoing user input in an error helps; echoing a megabyte of it does not.
MAX_ECHO_CHARS = 40
MAX_INT_DIGITS = 18

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def echo(text: str) -> str:
    return repr(text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "...")


def parse_int(name: str, text: str) -> int:
    if not _INTEGER.fullmatch(text) or len(text.lstrip("+-")) > MAX_INT_DIGITS:
        raise BadRequest(f"{name} must be an integer, got {echo(text)}")
    return int(text)


def parse_number(name: str, text: str) -> float:
    """A finite decimal number; no ``nan``, ``inf``, hex, or digits that overflow to inf."""
    value = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, got {echo(text)}")
    return value


def parse_bool(name: str, text: str) -> bool:
    """One of the project's yes/no words (``tilemaker_site.booleans``), as settings take."""
    answer = boolean_word(text)
    if answer is None:
        raise BadRequest(f"{name} must be true or false, got {echo(text)}")
    return answer


def optional(query, name, parse, default=None):
    text = query.get(name)
    return default if text is None else parse(name, text)


def required(query, name, parse):
    text = query.get(name)
    if text is None:
        raise BadRequest(f"the query parameter {name} is required")
    return parse(name, text)


def parse_render_options(query) -> RenderOptions:
    cmap = query.get("cmap")
    if cmap is not None:
        try:
            lookup_table(cmap)
        except UnknownColourMapError:
            raise BadRequest(f"unknown colour map {echo(cmap)}") from None
    stretch = query.get("stretch", "linear")
    if stretch not in STRETCHES:
        raise BadRequest(f"stretch must be one of {', '.join(STRETCHES)}, got {echo(stretch)}")
    asinh_a = optional(query, "asinh_a", parse_number, DEFAULT_ASINH_A)
    if asinh_a <= 0:
        raise BadRequest(f"asinh_a must be > 0, got {asinh_a:g}")
    gamma = optional(query, "gamma", parse_number, DEFAULT_GAMMA)
    if gamma <= 0:
        raise BadRequest(f"gamma must be > 0, got {gamma:g}")
    return RenderOptions(
        cmap=cmap,
        vmin=optional(query, "vmin", parse_number),
        vmax=optional(query, "vmax", parse_number),
        log_norm=optional(query, "log_norm", parse_bool, False),
        absolute=optional(query, "abs", parse_bool, False),
        clip=optional(query, "clip", parse_bool, False),
        flip=optional(query, "flip", parse_bool, False),
        stretch=stretch,
        asinh_a=asinh_a,
        gamma=gamma,
    )
