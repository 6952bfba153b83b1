// The catalogue filter language, parsed into closures: no eval or Function
// (the CSP forbids them, and a filter comes from a URL anyone can send).
// The same grammar and answers as catalogs/filterexpr.py; both are tested
// on tests/support/filter_cases.json. A comparison is true only when both
// sides are numbers or both are strings; "~" is a case-insensitive
// substring test, never a regular expression, so no input can make it slow.

export const MAX_FILTER_CHARS = 1000;
export const MAX_DEPTH = 32;

const POSITION_COLUMNS = ["name", "ra", "dec"];
const KEYWORDS = ["and", "or", "not", "between"];
const TOKEN = /(\s+)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(==|!=|<=|>=|=|<|>|~)|([()-])/y;

export class FilterError extends Error {}

// Python's repr() of a short string, so both sides word errors alike.
function quote(text) {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function quoted(text, start) {
  const mark = text[start];
  let value = "";
  let at = start + 1;
  while (at < text.length) {
    const char = text[at];
    if (char === "\\" && at + 1 < text.length) {
      value += text[at + 1];
      at += 2;
    } else if (char === mark) {
      return [at + 1, value];
    } else {
      value += char;
      at += 1;
    }
  }
  throw new FilterError(`unterminated ${mark === "`" ? "name" : "string"} at ${start}`);
}

function tokens(text) {
  const found = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (char === '"' || char === "'" || char === "`") {
      const [end, value] = quoted(text, at);
      found.push({ kind: char === "`" ? "column" : "string", text: text.slice(at, end), value, at });
      at = end;
      continue;
    }
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match) throw new FilterError(`unexpected character ${quote(char)} at ${at}`);
    const word = match[0];
    if (match[2] !== undefined) {
      found.push({ kind: "number", text: word, value: Number(word), at });
    } else if (match[3] !== undefined) {
      const lowered = word.toLowerCase();
      if (KEYWORDS.includes(lowered)) found.push({ kind: "keyword", text: word, value: lowered, at });
      else found.push({ kind: "column", text: word, value: word, at });
    } else if (match[4] !== undefined) {
      found.push({ kind: "op", text: word, value: word, at });
    } else if (match[5] !== undefined) {
      found.push({ kind: "punct", text: word, value: word, at });
    }
    at = TOKEN.lastIndex;
  }
  found.push({ kind: "end", text: "", value: null, at: text.length });
  return found;
}

const isNumber = (value) => typeof value === "number" && !Number.isNaN(value);
const comparable = (a, b) => (isNumber(a) && isNumber(b)) || (typeof a === "string" && typeof b === "string");

const COMPARE = {
  "=": (a, b) => a === b,
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

// Own properties only: a column called "constructor" or "__proto__" reads
// the row's data, never Object.prototype.
export function columnValue(row, column) {
  if (POSITION_COLUMNS.includes(column)) return Object.hasOwn(row, column) ? row[column] : null;
  const extra = row.extra;
  if (extra === null || typeof extra !== "object" || !Object.hasOwn(extra, column)) return null;
  return extra[column];
}

class Parser {
  constructor(text, columns) {
    this.tokens = tokens(text);
    this.index = 0;
    this.columns = columns;
  }

  peek() {
    return this.tokens[this.index];
  }

  take() {
    return this.tokens[this.index++];
  }

  isKeyword(word) {
    const token = this.peek();
    return token.kind === "keyword" && token.value === word;
  }

  unexpected(token) {
    if (token.kind === "end") return new FilterError(`unexpected end of filter at ${token.at}`);
    return new FilterError(`unexpected ${quote(token.text)} at ${token.at}`);
  }

  parse() {
    const predicate = this.disjunction(0);
    if (this.peek().kind !== "end") throw this.unexpected(this.peek());
    return predicate;
  }

  disjunction(depth) {
    const parts = [this.conjunction(depth)];
    while (this.isKeyword("or")) {
      this.take();
      parts.push(this.conjunction(depth));
    }
    return parts.length === 1 ? parts[0] : (row) => parts.some((part) => part(row));
  }

  conjunction(depth) {
    const parts = [this.negation(depth)];
    while (this.isKeyword("and")) {
      this.take();
      parts.push(this.negation(depth));
    }
    return parts.length === 1 ? parts[0] : (row) => parts.every((part) => part(row));
  }

  negation(depth) {
    if (depth >= MAX_DEPTH) throw new FilterError(`filter nested deeper than ${MAX_DEPTH} at ${this.peek().at}`);
    if (this.isKeyword("not")) {
      this.take();
      const inner = this.negation(depth + 1);
      return (row) => !inner(row);
    }
    return this.comparison(depth);
  }

  comparison(depth) {
    const token = this.peek();
    if (token.kind === "punct" && token.text === "(") {
      this.take();
      const inner = this.disjunction(depth + 1);
      const closing = this.take();
      if (!(closing.kind === "punct" && closing.text === ")")) throw this.unexpected(closing);
      return inner;
    }
    const left = this.operand();
    if (this.isKeyword("between")) {
      this.take();
      const low = this.operand();
      if (!this.isKeyword("and")) throw this.unexpected(this.peek());
      this.take();
      const high = this.operand();
      return (row) => {
        const [v, a, b] = [left(row), low(row), high(row)];
        return comparable(v, a) && comparable(v, b) && a <= v && v <= b;
      };
    }
    const op = this.take();
    if (op.kind !== "op") throw this.unexpected(op);
    const right = this.operand();
    if (op.text === "~") {
      return (row) => {
        const [a, b] = [left(row), right(row)];
        return typeof a === "string" && typeof b === "string" && a.toLowerCase().includes(b.toLowerCase());
      };
    }
    const test = COMPARE[op.text];
    return (row) => {
      const [a, b] = [left(row), right(row)];
      return comparable(a, b) && test(a, b);
    };
  }

  operand() {
    const token = this.take();
    if (token.kind === "punct" && token.text === "-" && this.peek().kind === "number") {
      const value = -this.take().value;
      return () => value;
    }
    if (token.kind === "number" || token.kind === "string") {
      const value = token.value;
      return () => value;
    }
    if (token.kind === "column") {
      const name = token.value;
      if (this.columns !== null && !this.columns.has(name)) {
        throw new FilterError(`unknown column ${quote(name)} at ${token.at}`);
      }
      return (row) => columnValue(row, name);
    }
    throw this.unexpected(token);
  }
}

// A predicate over sources ({name, ra, dec, extra}); columns, when given,
// are the extra columns a name must be one of (besides name, ra, dec).
export function parseFilter(text, columns = null) {
  if (text.length > MAX_FILTER_CHARS) throw new FilterError(`filter longer than ${MAX_FILTER_CHARS} characters`);
  if (!text.trim()) throw new FilterError("empty filter");
  const known = columns === null ? null : new Set([...POSITION_COLUMNS, ...columns]);
  return new Parser(text, known).parse();
}
