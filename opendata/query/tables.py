"""What the read layer knows about a published version, cached per immutable path: its
description, an in-memory DuckDB table of the filterable columns for files up to
`MEMORY_MAX_BYTES`, decoded row groups, and one DuckDB connection per thread."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from cachetools import LRUCache
from pyproj import Transformer

from opendata.errors import CivicError
from opendata.store.geoparquet import read_geo_metadata

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_BOX = ("xmin", "ymin", "xmax", "ymax")
#: Versions whose file is at most this big are copied into DuckDB memory on first use.
MEMORY_MAX_BYTES = 256 * 1024**2
#: Total file bytes of in-memory copies a process keeps (least recently used go first); an
#: in-memory copy takes about 1.5 times its file size.
MEMORY_BUDGET_BYTES = 512 * 1024**2
#: Decoded row groups (of any version) a process keeps for serving pages and single features.
ROW_CACHE_BYTES = 256 * 1024**2
#: Above this many exactly-matched ids a spatial match list goes to DuckDB as an Arrow table.
_INLINE_IDS = 2000
#: Rows per block of the in-memory bbox index.
_BLOCK = 512
#: Matching ids fetched in one go; beyond this a separate count(*) gives numberMatched.
_FETCH_IDS = 5000


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
    #: Where DuckDB finds the filterable columns (no geometry): a memory table or read_parquet.
    relation: str
    rows: int
    geometry: str | None
    geometry_types: tuple[str, ...]
    covering: str | None
    #: property name -> Arrow type, in file order (no fid, geometry or covering column).
    properties: dict[str, pa.DataType]
    temporal: str | None
    #: The first fid of each row group (fids run 1..N in file order).
    starts: tuple[int, ...]
    #: SQL for the covering bbox's xmin, ymin, xmax, ymax.
    box: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """The columns of a page: fid, the properties, the geometry."""
        return ["fid", *self.properties] + ([self.geometry] if self.geometry else [])


def quote(name: str) -> str:
    """A SQL identifier, safely quoted."""
    return '"' + name.replace('"', '""') + '"'


# -- connections and caches -------------------------------------------------------------------
_DB: duckdb.DuckDBPyConnection | None = None
_LOCK = threading.RLock()
_LOCAL = threading.local()
_SOURCES: dict[str, Source] = {}
_EXTENTS: dict[str, tuple[str | None, str | None]] = {}
_FILES: dict[str, pq.ParquetFile] = {}


class _MemoryCopies(LRUCache):
    """Paths of versions copied into DuckDB memory, weighed by file size; evicting one drops
    its table and everything derived from it."""

    def popitem(self) -> tuple[str, int]:
        old, size = super().popitem()
        dropped, _ = _SOURCES.pop(old, None), _BOXES.pop(old, None)
        if dropped is not None and dropped.relation.startswith("mem."):
            cursor().execute(f"DROP TABLE IF EXISTS {dropped.relation}")
        return old, size


_LOADED = _MemoryCopies(maxsize=MEMORY_BUDGET_BYTES, getsizeof=int)
_GROUPS: LRUCache = LRUCache(maxsize=ROW_CACHE_BYTES, getsizeof=lambda table: table.nbytes)
_BOXES: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}


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


def _parquet(path: str) -> str:
    return "read_parquet('" + path.replace("'", "''") + "')"


def _load_into_memory(path: str, size: int, geometry: str | None, covering: str | None) -> str:
    """Copy a version's filterable columns into a compressed in-memory DuckDB table once per
    process, evicting the least recently used copies beyond the budget."""
    import hashlib

    name = "mem.v_" + hashlib.sha1(path.encode()).hexdigest()[:20]
    with _LOCK:
        if _LOADED.get(path) is None:  # a hit also makes it the most recently used
            # No geometry (pages come from the row-group cache) and a flat bbox, whose columns
            # get zone maps, so a bbox query skips most of a Hilbert-sorted table.
            drop = ", ".join(quote(c) for c in (geometry, covering) if c)
            flat = "".join(f", {quote(covering)}.{k} AS __{k}" for k in _BOX) if covering else ""
            exclude = f" EXCLUDE ({drop})" if drop else ""
            select = f"SELECT *{exclude}{flat} FROM {_parquet(path)}"
            cursor().execute(f"CREATE TABLE IF NOT EXISTS {name} AS {select}")
            _LOADED[path] = min(size, MEMORY_BUDGET_BYTES)
    return name


def source(path: str | Path) -> Source:
    """The cached description (and query relation) of a version file."""
    key = str(path)
    found = _SOURCES.get(key)
    if found is None:
        found = _SOURCES[key] = _describe(key)
    return found


def _describe(path: str) -> Source:
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    geo = read_geo_metadata(Path(path)) or {}
    geometry = geo.get("primary_column")
    column = geo.get("columns", {}).get(geometry, {}) if geometry else {}
    covering = column.get("covering", {}).get("bbox", {}).get("xmin", [None])[0]
    properties = {f.name: f.type for f in schema if f.name not in {"fid", geometry, covering}}
    temporal = next(
        (n for n, t in properties.items() if pa.types.is_timestamp(t) or pa.types.is_date(t)), None
    )
    size = Path(path).stat().st_size
    if size <= MEMORY_MAX_BYTES:
        relation = _load_into_memory(path, size, geometry, covering)
        box = tuple(f"__{k}" for k in _BOX)
    else:
        relation, box = _parquet(path), tuple(f"{quote(covering or '')}.{k}" for k in _BOX)
    types = tuple(column.get("geometry_types", ()))
    return Source(path, relation, meta.num_rows, geometry, types, covering, properties, temporal,
                  _starts(meta), box)  # fmt: skip


def _starts(meta: pq.FileMetaData) -> tuple[int, ...]:
    """The first fid of each row group: `publish` numbers features 1..N in file order."""
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    return tuple(int(v) for v in np.cumsum([1, *sizes[:-1]])) if sizes else ()


def _group(src: Source, index: int) -> pa.Table:
    """One decoded row group (page columns only), from a per-process LRU cache."""
    key = (src.path, index)
    with _LOCK:
        table = _GROUPS.get(key)
        if table is None:
            handle = _FILES.get(src.path) or _FILES.setdefault(src.path, pq.ParquetFile(src.path))
            table = handle.read_row_group(index, columns=src.columns)
            if table.nbytes <= ROW_CACHE_BYTES:  # a group bigger than the cache is not kept
                _GROUPS[key] = table
    return table


def rows(src: Source, fids: np.ndarray, columns: list[str] | None = None) -> pa.Table:
    """The page columns (or `columns`) of the features with these ids, in this order (unknown
    ids are skipped): slices and takes of cached row groups, one Arrow call per group."""
    columns = columns or src.columns
    if len(fids) == 1 and 1 <= (fid := int(fids[0])) <= src.rows:  # one feature: no NumPy
        index = bisect.bisect_right(src.starts, fid) - 1
        return _group(src, index).select(columns).slice(fid - src.starts[index], 1)
    fids = np.asarray(fids, dtype=np.int64)
    fids = fids[(fids >= 1) & (fids <= src.rows)]
    if len(fids) == 0:
        return pq.read_schema(src.path).empty_table().select(columns)
    groups = np.searchsorted(src.starts, fids, side="right") - 1
    first, parts, positions = int(groups[0]), [], []
    if (groups == first).all() and (np.diff(fids) == 1).all():  # one run: a zero-copy slice
        return _group(src, first).select(columns).slice(int(fids[0]) - src.starts[first], len(fids))
    for g in np.unique(groups):
        where = np.flatnonzero(groups == g)
        parts.append(_group(src, int(g)).select(columns).take(fids[where] - src.starts[g]))
        positions.append(where)
    order = np.concatenate(positions)
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    return table if (np.diff(order) > 0).all() else table.take(np.argsort(order, kind="stable"))


def extent_of(path: str | Path) -> tuple[str | None, str | None]:
    """The temporal extent (ISO strings) of a version's temporal property, if it has one."""
    src = source(path)
    if src.temporal is None:
        return None, None
    if src.path not in _EXTENTS:
        col = quote(src.temporal)
        found = cursor().execute(
            f"SELECT min({col})::VARCHAR, max({col})::VARCHAR FROM {src.relation}"
        )
        row = found.fetchall()[0]
        _EXTENTS[src.path] = (_iso(row[0]), _iso(row[1])) if row else (None, None)
    return _EXTENTS[src.path]


def _iso(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace(" ", "T")
    return text[:-3] + "Z" if text.endswith("+00") else text


# -- CRS ---------------------------------------------------------------------------------------
_TRANSFORMERS: dict[tuple[str, str], Transformer] = {}
