"""The read layer over published GeoParquet versions: DuckDB in process, Shapely for geometry.

Versions are immutable, so everything derived from one (its schema, extents, and for files up to
`MEMORY_MAX_BYTES` an in-memory DuckDB copy that answers in well under a millisecond) is cached
per path for the life of the process. Filters arrive as CQL2-JSON expressions (the standard's own
AST; `api/cql2.py` parses the text encoding into it) and are compiled to parameterised SQL; a
spatial predicate is prefiltered on the GeoParquet `bbox` covering column in SQL and decided
exactly with Shapely only for the rows the bbox cannot decide.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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

from opendata.errors import CivicError
from opendata.geoparquet import read_geo_metadata

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: Versions whose file is at most this big are copied into DuckDB memory on first use.
MEMORY_MAX_BYTES = 256 * 1024**2
#: Total file bytes of in-memory copies a process keeps (least recently used go first); an
#: in-memory copy takes about 1.5 times its file size.
MEMORY_BUDGET_BYTES = 512 * 1024**2
#: Above this many exactly-matched ids a spatial match list goes to DuckDB as an Arrow table.
_INLINE_IDS = 2000


class QueryError(CivicError):
    """A query the data cannot answer (unknown property, type mismatch...): HTTP 400."""


@dataclass(frozen=True)
class FeatureQuery:
    """One items request, parsed and validated: what to match, which page, in which CRS."""

    limit: int = 10
    offset: int = 0
    #: minx, miny, maxx, maxy in `bbox_crs` axis order (z values already dropped).
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: str = CRS84
    #: Closed interval on the temporal property; None for an open end.
    datetime: tuple[datetime | None, datetime | None] | None = None
    #: property name -> value (already converted to the property's type).
    properties: Mapping[str, Any] = field(default_factory=dict)
    #: A CQL2-JSON expression; geometry literals are Shapely geometries in `filter_crs`.
    filter: Mapping[str, Any] | None = None
    filter_crs: str = CRS84
    #: Output CRS (rendering is the caller's job; carried so the query is the whole request).
    crs: str = CRS84
    #: (property, ascending) pairs; features are always finally ordered by `fid`.
    sortby: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class Source:
    """What the read layer knows about one version file."""

    path: str
    relation: str
    rows: int
    geometry: str | None
    geometry_types: tuple[str, ...]
    covering: str | None
    #: property name -> Arrow type, in file order (no fid, geometry or covering column).
    properties: dict[str, pa.DataType]
    temporal: str | None
    dense_fid: bool

    @property
    def select(self) -> str:
        names = ", ".join(quote(n) for n in ["fid", *self.properties])
        return (
            f"{names}, {quote(self.geometry)}::BLOB AS {quote(self.geometry)}"
            if self.geometry
            else names
        )


def quote(name: str) -> str:
    """A SQL identifier, safely quoted."""
    return '"' + name.replace('"', '""') + '"'


# -- connections and caches -------------------------------------------------------------------
_DB: duckdb.DuckDBPyConnection | None = None
_LOCK = threading.RLock()
_LOCAL = threading.local()
_SOURCES: OrderedDict[str, Source] = OrderedDict()
_EXTENTS: dict[str, tuple[str | None, str | None]] = {}
_LOADED: OrderedDict[str, int] = OrderedDict()


def cursor() -> duckdb.DuckDBPyConnection:
    """This thread's connection to the process' in-memory database (created after any fork)."""
    global _DB
    cur = getattr(_LOCAL, "cursor", None)
    if cur is None:
        with _LOCK:
            if _DB is None:
                _DB = duckdb.connect(":memory:", config={"threads": 1})
                _DB.execute("SET TimeZone = 'UTC'")
                _DB.execute("ATTACH ':memory:' AS mem (COMPRESS)")
            cur = _LOCAL.cursor = _DB.cursor()
    return cur


def _table_name(path: str) -> str:
    import hashlib

    return "v_" + hashlib.sha1(path.encode()).hexdigest()[:20]


def _load_into_memory(path: str, size: int, geometry: str | None) -> str:
    """Copy a version into a compressed in-memory DuckDB table once per process (geometry as
    plain WKB), evicting the least recently used copies beyond the budget."""
    name = "mem." + _table_name(path)
    with _LOCK:
        if path in _LOADED:
            _LOADED.move_to_end(path)
            return name
        replace = f" REPLACE ({quote(geometry)}::BLOB AS {quote(geometry)})" if geometry else ""
        literal = path.replace("'", "''")
        cursor().execute(
            f"CREATE TABLE IF NOT EXISTS {name} AS SELECT *{replace} FROM read_parquet('{literal}')"
        )
        _LOADED[path] = size
        while sum(_LOADED.values()) > MEMORY_BUDGET_BYTES and len(_LOADED) > 1:
            old, _ = _LOADED.popitem(last=False)
            _SOURCES.pop(old, None)
            cursor().execute(f"DROP TABLE IF EXISTS mem.{_table_name(old)}")
    return name


def source(path: str | Path) -> Source:
    """The cached description (and query relation) of a version file."""
    key = str(path)
    found = _SOURCES.get(key)
    if found is not None:
        return found
    src = _describe(key)
    _SOURCES[key] = src
    return src


def _describe(path: str) -> Source:
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    geo = read_geo_metadata(Path(path)) or {}
    geometry = geo.get("primary_column")
    column = geo.get("columns", {}).get(geometry, {}) if geometry else {}
    covering = column.get("covering", {}).get("bbox", {}).get("xmin", [None])[0]
    skip = {"fid", geometry, covering}
    properties = {f.name: f.type for f in schema if f.name not in skip}
    temporal = next(
        (n for n, t in properties.items() if pa.types.is_timestamp(t) or pa.types.is_date(t)), None
    )
    size = Path(path).stat().st_size
    relation = f"read_parquet('{path.replace(chr(39), chr(39) * 2)}')"
    if size <= MEMORY_MAX_BYTES:
        relation = _load_into_memory(path, size, geometry)
    return Source(
        path,
        relation,
        meta.num_rows,
        geometry,
        tuple(column.get("geometry_types", ())),
        covering,
        properties,
        temporal,
        _fid_is_dense(meta),
    )


def _fid_is_dense(meta: pq.FileMetaData) -> bool:
    """True when `fid` runs 1..N in file order, so a page is a range of fids."""
    names = meta.schema.to_arrow_schema().names
    if "fid" not in names:
        return False
    index, expected = names.index("fid"), 1
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        stats = group.column(index).statistics
        if stats is None or not stats.has_min_max or stats.min != expected:
            return False
        if stats.max != expected + group.num_rows - 1:
            return False
        expected += group.num_rows
    return True


def extent_of(path: str | Path) -> tuple[str | None, str | None]:
    """The temporal extent (ISO strings) of a version's temporal property, if it has one."""
    src = source(path)
    if src.temporal is None:
        return None, None
    if src.path not in _EXTENTS:
        col = quote(src.temporal)
        row = (
            cursor()
            .sql(f"SELECT min({col})::VARCHAR, max({col})::VARCHAR FROM {src.relation}")
            .fetchall()[0]
        )
        _EXTENTS[src.path] = (_iso(row[0]), _iso(row[1])) if row else (None, None)
    return _EXTENTS[src.path]


def _iso(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace(" ", "T")
    return text[:-3] + "Z" if text.endswith("+00") else text


# -- CRS ---------------------------------------------------------------------------------------
_TRANSFORMERS: dict[tuple[str, str], Transformer] = {}


def transformer(source_crs: str, target_crs: str) -> Transformer:
    """A cached, authority-axis-order transformer (EPSG:4326 is lat/lon, CRS84 lon/lat)."""
    key = (source_crs, target_crs)
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(CRS(source_crs), CRS(target_crs))
    return _TRANSFORMERS[key]


def to_crs84(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """`geom` (in `crs` axis order) in CRS84, densified first so straight edges stay faithful."""
    if crs == CRS84:
        return geom
    xmin, ymin, xmax, ymax = shapely.bounds(geom)
    step = max(xmax - xmin, ymax - ymin) / 32 or 1.0
    dense = shapely.segmentize(geom, step) if shapely.get_type_id(geom) not in (0, 4) else geom
    trans = transformer(crs, CRS84)
    return shapely.transform(dense, lambda xy: np.column_stack(trans.transform(xy[:, 0], xy[:, 1])))


def bbox_polygon(bbox: tuple[float, float, float, float], crs: str) -> shapely.Geometry:
    """The bbox as a CRS84 polygon (densified in its own CRS when that is not CRS84)."""
    return to_crs84(shapely.box(*bbox), crs)


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
    if op == "s_intersects":
        return _spatial(args[1], sql)
    raise QueryError(f"unsupported filter operator '{op}'")


def _spatial(geom: shapely.Geometry, sql: _Sql) -> str:
    """Rows whose geometry intersects `geom` (CRS84): a bbox prefilter in SQL decides most rows,
    Shapely decides the rest exactly."""
    src = sql.src
    if src.geometry is None or src.covering is None:
        raise QueryError("this collection has no geometry to filter on")
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.bounds(geom))
    b = quote(src.covering)
    near = f"({b}.xmin <= {xmax!r} AND {b}.xmax >= {xmin!r} AND {b}.ymin <= {ymax!r} AND {b}.ymax >= {ymin!r})"
    if shapely.equals(geom, shapely.box(xmin, ymin, xmax, ymax)):
        # A box intersects every geometry whose bbox lies inside it and every point it touches.
        sure = (
            f"(({b}.xmin >= {xmin!r} AND {b}.xmax <= {xmax!r} AND {b}.ymin >= {ymin!r} "
            f"AND {b}.ymax <= {ymax!r}) OR ({b}.xmin = {b}.xmax AND {b}.ymin = {b}.ymax))"
        )
    else:
        sure = "FALSE"
    if src.geometry_types and set(src.geometry_types) <= {"Point"} and sure != "FALSE":
        return near
    rows = (
        cursor()
        .sql(
            f"SELECT fid, {quote(src.geometry)}::BLOB FROM {src.relation} WHERE {near} AND NOT {sure}"
        )
        .to_arrow_table()
    )
    shapely.prepare(geom)
    geoms = shapely.from_wkb(rows.column(1).to_numpy(zero_copy_only=False))
    hit = rows.column(0).to_numpy()[shapely.intersects(geom, geoms)]
    return f"({near} AND ({sure} OR {_id_list(hit, sql)}))"


def _id_list(ids: np.ndarray, sql: _Sql) -> str:
    if len(ids) == 0:
        return "FALSE"
    if len(ids) <= _INLINE_IDS:
        return "fid IN (" + ",".join(str(int(i)) for i in ids) + ")"
    name = f"_ids{len(sql.tables)}"
    sql.tables[name] = pa.table({"fid": ids})
    return f"fid IN (SELECT fid FROM {name})"


def _temporal(src: Source, interval: tuple[Any, Any], sql: _Sql) -> str:
    if src.temporal is None:
        raise QueryError("this collection has no temporal property; datetime cannot be used")
    col, parts = quote(src.temporal), []
    is_date = pa.types.is_date(src.properties[src.temporal])
    naive = not is_date and src.properties[src.temporal].tz is None
    for bound, op in zip(interval, (">=", "<="), strict=True):
        if bound is None:
            continue
        if is_date:
            sql.params.append(
                bound.date().isoformat() if isinstance(bound, datetime) else bound.isoformat()
            )
            parts.append(f"{col} {op} CAST(? AS DATE)")
        else:
            sql.params.append(bound.isoformat())
            parts.append(f"{col} {op} CAST(? AS {'TIMESTAMP' if naive else 'TIMESTAMPTZ'})")
    return " AND ".join(parts) or "TRUE"


def where_clause(src: Source, query: FeatureQuery) -> _Sql | None:
    """The compiled WHERE clause of a query (None when it matches every row)."""
    sql, parts = _Sql(src), []
    if query.bbox is not None:
        parts.append(_spatial(bbox_polygon(query.bbox, query.bbox_crs), sql))
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
        return to_crs84(node, crs)
    if isinstance(node, Mapping) and "args" in node:
        return {**node, "args": [_filter_to_crs84(a, crs) for a in node["args"]]}
    if isinstance(node, list):
        return [_filter_to_crs84(a, crs) for a in node]
    return node


# -- reading -----------------------------------------------------------------------------------
def features(path: str | Path, query: FeatureQuery) -> tuple[pa.Table, int]:
    """One page of features (Arrow: fid, properties..., WKB geometry) and the exact match count."""
    src = source(path)
    cur = cursor()
    try:
        sql = where_clause(src, query)
        for name, table in sql.tables.items() if sql else ():
            cur.register(name, table)
        if sql is None and not query.sortby and src.dense_fid:
            first = query.offset + 1
            page = cur.sql(
                f"SELECT {src.select} FROM {src.relation} WHERE fid BETWEEN ? AND ? ORDER BY fid",
                params=[first, first + query.limit - 1],
            ).to_arrow_table()
            return page, src.rows
        sql = sql or _Sql(src)
        where, params = sql.where, sql.params
        matched = cur.sql(
            f"SELECT count(*) FROM {src.relation} WHERE {where}", params=params
        ).fetchall()[0][0]
        order = ", ".join(
            f"{_order_prop(src, n)} {'ASC' if up else 'DESC'} NULLS LAST" for n, up in query.sortby
        )
        order = f"{order}, fid" if order else "fid"
        page = cur.sql(
            f"SELECT {src.select} FROM {src.relation} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            params=[*params, query.limit, query.offset],
        ).to_arrow_table()
        return page, int(matched)
    except duckdb.Error as err:
        raise QueryError(
            f"the filter cannot be evaluated on this data: {str(err).splitlines()[0]}"
        ) from err
    finally:
        for name in sql.tables if "sql" in locals() and sql else ():
            cur.unregister(name)


def _order_prop(src: Source, name: str) -> str:
    if name not in src.properties:
        raise QueryError(
            f"sortby: unknown property '{name}'; sortable: {', '.join(src.properties)}"
        )
    return quote(name)


def feature(path: str | Path, fid: int) -> pa.Table:
    """The feature with id `fid` as a one-row Arrow table (zero rows when there is none)."""
    src = source(path)
    return (
        cursor()
        .sql(f"SELECT {src.select} FROM {src.relation} WHERE fid = ?", params=[fid])
        .to_arrow_table()
    )
