"""CQL2 (OGC 21-065r2) text and JSON encodings, parsed into one normalised CQL2-JSON tree.

Supported: Basic CQL2 (comparisons, AND/OR/NOT, IS NULL, boolean, string, number, TIMESTAMP and
DATE literals), Advanced Comparison Operators (LIKE, BETWEEN, IN) and the spatial functions
(S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_EQUALS, S_TOUCHES, S_OVERLAPS, S_CROSSES) with
any geometry literal (WKT in text, GeoJSON in JSON) or BBOX. Geometry literals become Shapely
geometries (coordinates as written, in `filter-crs` axis order). Anything else is refused with an
error naming it. Property names and literal types are checked against the queryables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import shapely

from api.ogc.cql2_text import (
    COMPARISONS,
    MAX_DEPTH,
    Cql2Error,
    parse_text,
)

# -- normalising and checking ------------------------------------------------------------------
#: Spatial functions and the one each becomes with its arguments swapped.
SPATIAL = {"s_intersects": "s_intersects", "s_disjoint": "s_disjoint", "s_equals": "s_equals",
           "s_touches": "s_touches", "s_overlaps": "s_overlaps", "s_crosses": "s_crosses",
           "s_contains": "s_within", "s_within": "s_contains"}  # fmt: skip
_NARGS = {"not": 1, "like": 2, "between": 3, "in": 2, "isnull": 1} | dict.fromkeys(SPATIAL, 2)
_TEMPORAL_FORMATS = ("date-time", "date")


def _geometry(value: Any) -> shapely.Geometry:
    if isinstance(value, shapely.Geometry):
        return value
    if isinstance(value, Mapping) and "bbox" in value:
        box = value["bbox"]
        if (
            not isinstance(box, list)
            or len(box) not in (4, 6)
            or not all(_is_number(v) for v in box)
        ):
            raise Cql2Error("filter: a bbox literal takes 4 or 6 numbers")
        box = box if len(box) == 4 else [box[0], box[1], box[3], box[4]]
        return shapely.box(*box)
    if isinstance(value, Mapping) and "type" in value and "coordinates" in value:
        import json

        try:
            return shapely.from_geojson(json.dumps(value))
        except shapely.errors.ShapelyError as err:
            raise Cql2Error(f"filter: invalid GeoJSON geometry: {err}") from None
    raise Cql2Error("filter: a spatial function needs the geometry property and a geometry literal")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


class _Checker:
    """Checks a CQL2-JSON tree against the queryables and normalises operator names."""

    def __init__(self, queryables: Mapping[str, Mapping[str, Any]], geometry: str | None) -> None:
        self.queryables, self.geometry = queryables, geometry

    def boolean(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Cql2Error(f"filter: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, bool):
            return node
        if (
            not isinstance(node, Mapping)
            or "op" not in node
            or not isinstance(node.get("args"), list)
        ):
            raise Cql2Error(f"filter: expected a predicate, got {_show(node)}")
        op, args = str(node["op"]).lower(), node["args"]
        if op in ("and", "or"):
            if len(args) < 2:
                raise Cql2Error(f"filter: {op.upper()} needs at least two arguments")
            return {"op": op, "args": [self.boolean(a, depth + 1) for a in args]}
        if op == "not":
            self._arity(op, args)
            return {"op": op, "args": [self.boolean(args[0], depth + 1)]}
        if op in COMPARISONS or op in _NARGS:
            return self.predicate(op, args)
        raise Cql2Error(
            f"filter: unsupported operator or function '{node['op']}'; supported: AND, OR, "
            "NOT, =, <>, <, >, <=, >=, LIKE, BETWEEN, IN, IS NULL and the S_ spatial functions"
        )

    def _arity(self, op: str, args: list) -> None:
        want = 2 if op in COMPARISONS else _NARGS[op]
        if len(args) != want:
            raise Cql2Error(f"filter: {op.upper()} takes {want} arguments, got {len(args)}")

    def predicate(self, op: str, args: list) -> Any:
        self._arity(op, args)
        if op in SPATIAL:
            return self.spatial(op, args)
        if op == "in":
            if not isinstance(args[1], list) or not args[1]:
                raise Cql2Error("filter: IN takes a non-empty list")
            kind = self.kind(args[0])
            return {
                "op": op,
                "args": [self.scalar(args[0], kind), [self.scalar(v, kind) for v in args[1]]],
            }
        kind = next((k for k in map(self.kind, args) if k), None)
        if op == "like" and kind not in (None, "string"):
            raise Cql2Error("filter: LIKE applies to text properties only")
        if op == "between" and kind in ("string", "boolean"):
            raise Cql2Error("filter: BETWEEN applies to numbers, dates and timestamps")
        return {"op": op, "args": [self.scalar(a, kind) for a in args]}

    def spatial(self, op: str, args: list) -> Any:
        if isinstance(args[1], Mapping) and "property" in args[1]:
            op, args = SPATIAL[op], [args[1], args[0]]  # the literal goes second
        prop = args[0]
        if not (
            isinstance(prop, Mapping) and self.geometry and prop.get("property") == self.geometry
        ):
            raise Cql2Error(f"filter: {op.upper()} applies to the geometry property "
                            f"'{self.geometry}', got {_show(prop)}")  # fmt: skip
        return {"op": op, "args": [{"property": self.geometry}, _geometry(args[1])]}

    def kind(self, node: Any) -> str | None:
        """The queryable type of a property reference (None for literals)."""
        if not (isinstance(node, Mapping) and "property" in node):
            return None
        name = node["property"]
        if name not in self.queryables:
            raise Cql2Error(
                f"filter: unknown property '{name}'; queryables: {', '.join(self.queryables)}"
            )
        schema = self.queryables[name]
        return (
            schema.get("format")
            if schema.get("format") in _TEMPORAL_FORMATS
            else schema.get("type")
        )

    def scalar(self, node: Any, kind: str | None) -> Any:
        if isinstance(node, Mapping) and "op" in node:
            raise Cql2Error(
                f"filter: unsupported function '{node['op']}' (no functions besides "
                "the S_ spatial functions are supported)"
            )
        if isinstance(node, Mapping) and "property" in node:
            self.kind(node)
            return {"property": node["property"]}
        if isinstance(node, Mapping) and ("timestamp" in node or "date" in node):
            return _temporal_literal(node, kind)
        if isinstance(node, str) and kind in _TEMPORAL_FORMATS:
            return _temporal_literal({"timestamp" if kind == "date-time" else "date": node}, kind)
        expected = {"string": str, "boolean": bool}.get(kind or "", None)
        if kind in ("integer", "number"):
            if not _is_number(node):
                raise Cql2Error(f"filter: expected a number, got {_show(node)}")
        elif expected is not None and not isinstance(node, expected):
            raise Cql2Error(f"filter: expected a {kind}, got {_show(node)}")
        elif kind is None and not (isinstance(node, str | bool) or _is_number(node)):
            raise Cql2Error(f"filter: unsupported value {_show(node)}")
        return node


def _temporal_literal(node: Mapping[str, Any], kind: str | None) -> dict[str, str]:
    key = "timestamp" if "timestamp" in node else "date"
    text = node[key]
    try:
        if key == "date":
            date.fromisoformat(str(text))
        else:
            datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise Cql2Error(f"filter: invalid {key.upper()} literal {_show(text)}") from None
    if kind not in (None, *_TEMPORAL_FORMATS):
        raise Cql2Error(f"filter: a {key} cannot be compared with a {kind} property")
    return {key: str(text)}


def _show(node: Any) -> str:
    text = repr(node) if not isinstance(node, shapely.Geometry) else node.geom_type
    return text if len(text) <= 60 else text[:57] + "..."


def normalise(tree: Any, queryables: Mapping[str, Mapping[str, Any]], geometry: str | None) -> Any:
    """Check a CQL2-JSON tree against `queryables` (name -> JSON Schema) and normalise it."""
    return _Checker(queryables, geometry).boolean(tree)


def parse(
    text: str, lang: str, queryables: Mapping[str, Mapping[str, Any]], geometry: str | None
) -> Any:
    """Parse `text` in `lang` (cql2-text or cql2-json) into a checked CQL2-JSON tree."""
    try:
        if lang in ("cql2-text", "cql-text"):  # cql-text: the draft name GDAL still sends
            tree = parse_text(text)
        elif lang == "cql2-json":
            tree = _json(text)
        else:
            raise Cql2Error(f"filter-lang: unsupported '{lang}'; use cql2-text or cql2-json")
        return normalise(tree, queryables, geometry)
    except RecursionError:
        raise Cql2Error("filter: nested too deeply") from None


def _json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as err:
        raise Cql2Error(f"filter: not valid JSON ({err})") from None
