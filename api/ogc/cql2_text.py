"""The cql2-text encoding of CQL2 (OGC 21-065r2), parsed by recursive descent into the same
CQL2-JSON tree the JSON encoding is; `api.ogc.cql2` then checks and normalises either. Geometry
literals (WKT, BBOX) become Shapely geometries with coordinates as written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import shapely

from opendata.query.tables import QueryError


class Cql2Error(QueryError):
    """A filter that cannot be parsed or is not supported (rendered as 400)."""


COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")
#: Deepest AND/OR/NOT nesting accepted (real filters stay far below; SQL engines have limits).
MAX_DEPTH = 64
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<ident>[^\W\d][\w.:]*)
    | (?P<op><>|<=|>=|=|<|>|\(|\)|,)
    )""",
    re.VERBOSE,
)
_WKT_TYPES = {
    "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}  # fmt: skip
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE"}


class _Text:
    """A recursive-descent parser for the cql2-text encoding."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, message: str) -> Cql2Error:
        return Cql2Error(f"filter: {message} at character {self.pos + 1}")

    def peek(self) -> tuple[str, str] | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or match.end() == match.start():
            if self.text[self.pos :].strip():
                raise self.fail(f"unexpected '{self.text[self.pos :].strip()[:20]}'")
            return None
        kind = match.lastgroup or ""
        return kind, match.group(kind)

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.fail("unexpected end of filter")
        self.pos = _TOKEN.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] in ("ident", "op") and token[1].upper() in words:
            self.take()
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.word(word):
            found = self.peek()
            raise self.fail(f"expected {word}, found {found[1] if found else 'the end'}")

    def parse(self) -> Any:
        node = self.or_()
        if self.peek() is not None:
            raise self.fail(f"unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return node

    def or_(self) -> Any:
        args = [self.and_()]
        while self.word("OR"):
            args.append(self.and_())
        return args[0] if len(args) == 1 else {"op": "or", "args": args}

    def and_(self) -> Any:
        args = [self.not_()]
        while self.word("AND"):
            args.append(self.not_())
        return args[0] if len(args) == 1 else {"op": "and", "args": args}

    def not_(self) -> Any:
        if self.word("NOT"):
            return {"op": "not", "args": [self.not_()]}
        return self.predicate()

    def predicate(self) -> Any:
        token = self.peek()
        if token == ("op", "("):
            self.take()
            node = self.or_()
            self.expect(")")
            return node
        left = self.scalar()
        following = self.peek()
        ends = (
            following is None
            or following in (("op", ")"),)
            or following[1].upper() in ("AND", "OR")
        )
        if ends and (isinstance(left, bool) or isinstance(left, Mapping) and "op" in left):
            return left  # a boolean function or literal
        negate = self.word("NOT")
        if self.word("LIKE"):
            node = {"op": "like", "args": [left, self.scalar()]}
        elif self.word("BETWEEN"):
            low = self.scalar()
            self.expect("AND")
            node = {"op": "between", "args": [left, low, self.scalar()]}
        elif self.word("IN"):
            node = {"op": "in", "args": [left, self.list_()]}
        elif not negate and self.word("IS"):
            negate = self.word("NOT")
            self.expect("NULL")
            node = {"op": "isNull", "args": [left]}
        elif not negate and (op := self.peek()) and op[0] == "op" and op[1] in COMPARISONS:
            self.take()
            return {"op": op[1], "args": [left, self.scalar()]}
        else:
            raise self.fail("expected a comparison, LIKE, BETWEEN, IN or IS NULL")
        return {"op": "not", "args": [node]} if negate else node

    def list_(self) -> list[Any]:
        self.expect("(")
        items = [self.scalar()]
        while self.word(","):
            items.append(self.scalar())
        self.expect(")")
        return items

    def scalar(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if kind == "quoted":
            return {"property": value[1:-1].replace('""', '"')}
        if kind != "ident":
            raise self.fail(f"unexpected '{value}'")
        upper = value.upper()
        if upper in ("TRUE", "FALSE"):
            return upper == "TRUE"
        if upper in ("TIMESTAMP", "DATE"):
            self.expect("(")
            kind, text = self.take()
            if kind != "string":
                raise self.fail(f"{upper} takes a quoted string")
            self.expect(")")
            return {upper.lower(): text[1:-1]}
        if upper in _WKT_TYPES:
            return self.wkt(value)
        if upper == "BBOX":
            return {"bbox": [self._number(v) for v in self.list_()]}
        if self.peek() == ("op", "("):
            return {"op": value, "args": self.list_()}
        if upper in _KEYWORDS:
            raise self.fail(f"unexpected keyword {upper}")
        return {"property": value}

    def _number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail("BBOX takes numbers")
        return float(value)

    def wkt(self, keyword: str) -> shapely.Geometry:
        start = self.pos - len(keyword)
        depth, i = 0, self.pos
        while i < len(self.text):
            depth += {"(": 1, ")": -1}.get(self.text[i], 0)
            i += 1
            if depth == 0 and self.text[i - 1] == ")":
                break
        if depth != 0:
            raise self.fail(f"unbalanced parentheses in {keyword.upper()}")
        self.pos = i
        try:
            return shapely.from_wkt(self.text[start:i])
        except shapely.errors.ShapelyError as err:
            raise Cql2Error(f"filter: invalid WKT geometry: {err}") from None


def parse_text(text: str) -> Any:
    """Parse a cql2-text filter into a CQL2-JSON tree."""
    if not text.strip():
        raise Cql2Error("filter: empty expression")
    return _Text(text).parse()
