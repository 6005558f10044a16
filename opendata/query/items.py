"""The read layer over published GeoParquet versions: DuckDB in process, Shapely for geometry.

Versions are immutable, so what is derived from one is cached per path for the life of a worker:
its description; for files up to `MEMORY_MAX_BYTES`, a compressed in-memory DuckDB table of the
filterable columns and a numpy index of the `bbox` covering column; decoded row groups, from
which pages are sliced (`fid` is the row number, so a page or a feature needs no query).
Filters arrive as CQL2-JSON trees (the standard's own AST; `api/ogc/cql2.py` parses the text
encoding into it) and compile to parameterised SQL; a spatial predicate is prefiltered on the
covering bboxes and decided exactly with Shapely only for the rows the bboxes cannot decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer

from opendata.query.tables import (
    _BLOCK,
    _BOX,
    _BOXES,
    _FETCH_IDS,
    _INLINE_IDS,
    _TRANSFORMERS,
    CRS84,
    FeatureQuery,
    QueryError,
    Source,
    cursor,
    quote,
    rows,
    source,
)


def transformer(source_crs: str, target_crs: str) -> Transformer:
    """A cached, authority-axis-order transformer (EPSG:4326 is lat/lon, CRS84 lon/lat)."""
    key = (source_crs, target_crs)
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(CRS(source_crs), CRS(target_crs))
    return _TRANSFORMERS[key]


def to_crs84(geom: shapely.Geometry, crs: str, *, what: str = "geometry") -> shapely.Geometry:
    """`geom` (in `crs` axis order) in CRS84, densified first so straight edges stay faithful;
    a `QueryError` naming `what` when `crs` cannot express its coordinates (they map to
    infinity or nowhere)."""
    if crs == CRS84:
        return geom
    try:
        xmin, ymin, xmax, ymax = shapely.bounds(geom)
        step = max(xmax - xmin, ymax - ymin) / 32 or 1.0
        dense = shapely.segmentize(geom, step) if shapely.get_type_id(geom) not in (0, 4) else geom
        trans = transformer(crs, CRS84)
        out = shapely.transform(
            dense, lambda xy: np.column_stack(trans.transform(xy[:, 0], xy[:, 1]))
        )
    except shapely.errors.GEOSException:
        out = None
    if out is None or not np.isfinite(shapely.get_coordinates(out)).all():
        raise QueryError(f"{what}: coordinates outside the area that {crs} can express")
    return out


def bbox_polygon(bbox: tuple[float, float, float, float], crs: str) -> shapely.Geometry:
    """The bbox as a CRS84 polygon (densified in its own CRS when that is not CRS84)."""
    return to_crs84(shapely.box(*bbox), crs, what="bbox")


# -- filters to SQL ----------------------------------------------------------------------------
_COMPARE = {"=": "=", "<>": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


@dataclass
class _Sql:
    """Accumulates a WHERE clause's parts and parameters for one query."""

    src: Source
    where: str = "TRUE"
    params: list[Any] = field(default_factory=list)
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def value(self, node: Any) -> str:
        if isinstance(node, Mapping) and "property" in node:
            return self.prop(node["property"])
        if isinstance(node, Mapping) and ("timestamp" in node or "date" in node):
            kind = "TIMESTAMPTZ" if "timestamp" in node else "DATE"
            self.params.append(str(node.get("timestamp", node.get("date"))))
            return f"CAST(? AS {kind})"
        if isinstance(node, bool | int | float | str):
            self.params.append(node)
            return "?"
        raise QueryError(f"unsupported value in filter: {str(node)[:80]}")

    def prop(self, name: str) -> str:
        if name not in self.src.properties:
            raise QueryError(
                f"unknown property '{name}'; queryables: {', '.join(self.src.properties)}"
            )
        return quote(name)


def _compile(node: Any, sql: _Sql) -> str:
    """SQL for one CQL2-JSON node (spatial predicates are resolved against the data)."""
    if isinstance(node, bool):
        return "TRUE" if node else "FALSE"
    op, args = str(node.get("op", "")).lower(), node.get("args", [])
    if op in ("and", "or"):
        return "(" + f" {op.upper()} ".join(_compile(a, sql) for a in args) + ")"
    if op == "not":
        return f"(NOT {_compile(args[0], sql)})"
    if op in _COMPARE:
        return f"({sql.value(args[0])} {_COMPARE[op]} {sql.value(args[1])})"
    if op == "like":
        return f"({sql.value(args[0])} LIKE {sql.value(args[1])} ESCAPE '\\')"
    if op == "between":
        return f"({sql.value(args[0])} BETWEEN {sql.value(args[1])} AND {sql.value(args[2])})"
    if op == "in":
        return f"({sql.value(args[0])} IN ({', '.join(sql.value(v) for v in args[1])}))"
    if op == "isnull":
        return f"({sql.value(args[0])} IS NULL)"
    if op in PREDICATES or op == "s_disjoint":
        return _spatial(op, args[1], sql)
    raise QueryError(f"unsupported filter operator '{op}'")


def _box_sql(src: Source, geom: shapely.Geometry) -> tuple[str, str]:
    """SQL for rows whose bbox meets `geom`'s bbox, and for those of them that surely intersect
    `geom` itself: when `geom` is a lon/lat box, rows whose bbox lies inside it or is a point
    (`TRUE` when the collection has points only)."""
    if src.geometry is None or len(src.box) != 4:
        raise QueryError("this collection has no geometry to filter on")
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.bounds(geom))
    x0, y0, x1, y1 = src.box
    near = f"({x0} <= {xmax!r} AND {x1} >= {xmin!r} AND {y0} <= {ymax!r} AND {y1} >= {ymin!r})"
    if not shapely.equals(geom, shapely.box(xmin, ymin, xmax, ymax)):
        return near, "FALSE"
    if src.geometry_types and set(src.geometry_types) <= {"Point"}:
        return near, "TRUE"
    inside = f"{x0} >= {xmin!r} AND {x1} <= {xmax!r} AND {y0} >= {ymin!r} AND {y1} <= {ymax!r}"
    return near, f"(({inside}) OR ({x0} = {x1} AND {y0} = {y1}))"


def _box_index(src: Source) -> tuple[np.ndarray, np.ndarray] | None:
    """Each feature's covering bbox (rows x 4) and the bounds of each block of `_BLOCK` rows
    (compact, as rows are Hilbert-sorted), for versions held in memory; else None."""
    if src.path not in _BOXES:
        index = None
        if src.relation.startswith("mem.") and src.covering:
            cover = pq.read_table(src.path, columns=[src.covering]).column(0).combine_chunks()
            boxes = np.column_stack([cover.field(k).to_numpy(zero_copy_only=False) for k in _BOX])
            starts = np.arange(0, len(boxes), _BLOCK)
            reducers = (np.fmin, np.fmin, np.fmax, np.fmax)  # fmin/fmax skip null (NaN) boxes
            blocks = [f.reduceat(boxes[:, i], starts) if len(boxes) else boxes[:0, i]
                      for i, f in enumerate(reducers)]  # fmt: skip
            index = (boxes, np.column_stack(blocks))
        _BOXES[src.path] = index
    return _BOXES[src.path]


def _near_rows(src: Source, bounds: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """Row numbers whose bbox meets `bounds`, and the bboxes of those rows (None: not indexed)."""
    index = _box_index(src)
    if index is None:
        return None
    boxes, blocks = index
    xmin, ymin, xmax, ymax = bounds
    hit = (
        (blocks[:, 0] <= xmax)
        & (blocks[:, 2] >= xmin)
        & (blocks[:, 1] <= ymax)
        & (blocks[:, 3] >= ymin)
    )
    hit = np.flatnonzero(hit)
    if not len(hit):
        return hit, boxes[:0]
    # Runs of consecutive hit blocks are tested as slices (views), not gathered row by row.
    breaks = np.flatnonzero(np.diff(hit) != 1) + 1
    found, found_boxes = [], []
    for first, last in zip(hit[np.r_[0, breaks]].tolist(), hit[np.r_[breaks - 1, -1]].tolist(),
                           strict=True):  # fmt: skip
        start, stop = first * _BLOCK, min((last + 1) * _BLOCK, len(boxes))
        b = boxes[start:stop]
        near = (b[:, 0] <= xmax) & (b[:, 2] >= xmin) & (b[:, 1] <= ymax) & (b[:, 3] >= ymin)
        where = np.flatnonzero(near)
        found.append(where + start)
        found_boxes.append(b[where])
    if len(found) == 1:
        return found[0], found_boxes[0]
    return np.concatenate(found), np.concatenate(found_boxes)


#: CQL2 spatial functions that imply intersection, as Shapely predicates (feature, literal).
PREDICATES = {
    "s_intersects": shapely.intersects, "s_contains": shapely.contains, "s_within": shapely.within,
    "s_equals": shapely.equals, "s_touches": shapely.touches, "s_overlaps": shapely.overlaps,
    "s_crosses": shapely.crosses,
}  # fmt: skip


def spatial_ids(src: Source, geom: shapely.Geometry, op: str = "s_intersects") -> np.ndarray:
    """The sorted ids of the features for which `op(feature, geom)` holds (CRS84): a bbox
    prefilter on the covering column (in memory, or one DuckDB query for big files), then
    Shapely for the rows the bboxes cannot decide."""
    near, sure = _box_sql(src, geom)
    sure = sure if op == "s_intersects" else "FALSE"
    bounds = tuple(float(v) for v in shapely.bounds(geom))
    found = _near_rows(src, bounds)
    if found is not None:
        ids, b = found[0] + 1, found[1]  # fid = row number + 1
        decided = np.zeros(len(ids), bool)
        if sure != "FALSE":
            xmin, ymin, xmax, ymax = bounds
            inside = (b[:, 0] >= xmin) & (b[:, 2] <= xmax) & (b[:, 1] >= ymin) & (b[:, 3] <= ymax)
            decided = inside | ((b[:, 0] == b[:, 2]) & (b[:, 1] == b[:, 3]))
    else:
        result = (
            cursor()
            .execute(f"SELECT fid, {sure} AS s FROM {src.relation} WHERE {near}")
            .fetchnumpy()
        )
        order = np.argsort(result["fid"], kind="stable")
        ids, decided = np.asarray(result["fid"])[order], np.asarray(result["s"], dtype=bool)[order]
    if decided.all():
        return ids
    shapely.prepare(geom)
    wkb = rows(src, ids[~decided], [src.geometry or ""]).column(0).to_numpy(zero_copy_only=False)
    decided[~decided] = PREDICATES[op](shapely.from_wkb(wkb), geom)
    return ids[decided]


def _spatial(op: str, geom: shapely.Geometry, sql: _Sql) -> str:
    """SQL for `op(geometry, geom)`: the bbox test when that is exact, else an id list."""
    if op == "s_disjoint":
        return f"(NOT {_spatial('s_intersects', geom, sql)})"
    near, sure = _box_sql(sql.src, geom)
    if op == "s_intersects" and sure == "TRUE":
        return near
    return _id_list(spatial_ids(sql.src, geom, op), sql)


def _id_list(ids: np.ndarray, sql: _Sql) -> str:
    if len(ids) == 0:
        return "FALSE"
    if len(ids) <= _INLINE_IDS:
        return "fid IN (" + ",".join(str(int(i)) for i in ids) + ")"
    name = f"_ids{len(sql.tables)}"
    sql.tables[name] = pa.table({"fid": ids})
    return f"fid IN (SELECT fid FROM {name})"


def _temporal(src: Source, interval: tuple[Any, Any], sql: _Sql) -> str:
    """The closed interval on the temporal property (timestamps without a zone count as UTC)."""
    if src.temporal is None:
        raise QueryError("this collection has no temporal property; datetime cannot be used")
    col, parts = quote(src.temporal), []
    kind = "DATE" if pa.types.is_date(src.properties[src.temporal]) else "TIMESTAMPTZ"
    for bound, op in zip(interval, (">=", "<="), strict=True):
        if bound is not None:
            value = bound.date() if kind == "DATE" and isinstance(bound, datetime) else bound
            sql.params.append(value.isoformat())
            parts.append(f"{col} {op} CAST(? AS {kind})")
    return " AND ".join(parts) or "TRUE"


def where_clause(src: Source, query: FeatureQuery) -> _Sql | None:
    """The compiled WHERE clause of a query (None when it matches every row)."""
    sql, parts = _Sql(src), []
    if query.bbox is not None:
        parts.append(_spatial("s_intersects", bbox_polygon(query.bbox, query.bbox_crs), sql))
    if query.datetime is not None:
        parts.append(_temporal(src, query.datetime, sql))
    for name, value in query.properties.items():
        parts.append(f"{sql.prop(name)} = {sql.value(value)}")
    if query.filter is not None:
        parts.append(_compile(_filter_to_crs84(query.filter, query.filter_crs), sql))
    if not parts:
        return None
    sql.where = " AND ".join(parts)
    return sql


def _filter_to_crs84(node: Any, crs: str) -> Any:
    if isinstance(node, shapely.Geometry):
        return to_crs84(node, crs, what="filter")
    if isinstance(node, Mapping) and "args" in node:
        return {**node, "args": [_filter_to_crs84(a, crs) for a in node["args"]]}
    if isinstance(node, list):
        return [_filter_to_crs84(a, crs) for a in node]
    return node


# -- reading -----------------------------------------------------------------------------------
def features(path: str | Path, query: FeatureQuery) -> tuple[pa.Table, int]:
    """One page of features (Arrow: fid, properties..., WKB geometry) and the exact match count."""
    src = source(path)
    plain = not (query.filter or query.datetime or query.properties or query.sortby)
    if plain and query.bbox is None:
        first = query.offset + 1  # fid = row number: the page is a range of ids
        return rows(src, np.arange(first, min(first + query.limit, src.rows + 1))), src.rows
    if plain and query.bbox is not None:  # bbox alone: one query gives every match
        ids = _guarded(spatial_ids, src, bbox_polygon(query.bbox, query.bbox_crs))
        return rows(src, ids[query.offset : query.offset + query.limit]), len(ids)
    ids, matched = _guarded(_matching, src, query)
    return rows(src, ids), matched


def _guarded(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except duckdb.Error as err:
        first = str(err).splitlines()[0]
        raise QueryError(f"the filter cannot be evaluated on this data: {first}") from err


def _matching(src: Source, query: FeatureQuery) -> tuple[np.ndarray, int]:
    """The ids of one page of matches, in order, and the number of all matches."""
    cur, sql = cursor(), where_clause(src, query) or _Sql(src)
    for name, table in sql.tables.items():
        cur.register(name, table)
    try:
        keys = [
            f"{_order_prop(src, n)} {'ASC' if up else 'DESC'} NULLS LAST" for n, up in query.sortby
        ]
        cap = max(query.limit, _FETCH_IDS) + 1
        select = (
            f"SELECT fid FROM {src.relation} WHERE {sql.where} ORDER BY {', '.join([*keys, 'fid'])}"
        )
        ids = cur.execute(f"{select} LIMIT {cap} OFFSET {query.offset}", sql.params).fetchnumpy()[
            "fid"
        ]
        if len(ids) < cap and (len(ids) or not query.offset):
            return np.asarray(ids[: query.limit]), query.offset + len(ids)
        count = cur.execute(f"SELECT count(*) FROM {src.relation} WHERE {sql.where}", sql.params)
        return np.asarray(ids[: query.limit]), int(count.fetchall()[0][0])
    finally:
        for name in sql.tables:
            cur.unregister(name)


def _order_prop(src: Source, name: str) -> str:
    if name not in src.properties:
        raise QueryError(
            f"sortby: unknown property '{name}'; sortable: {', '.join(src.properties)}"
        )
    return quote(name)


def feature(path: str | Path, fid: int) -> pa.Table:
    """The feature with id `fid` as a one-row Arrow table (zero rows when there is none)."""
    return rows(source(path), np.array([fid]))
