"""Read-only, sandboxed DuckDB SQL over the current datasets (no Flask).

Fences, each on its own:

1. `opendata.query.sql_check.check_sql` decides on DuckDB's parse tree: one SELECT-family
   statement whose tables are dataset views or CTEs in scope, allowed table functions only, no
   function that reads settings, the environment or the catalog.
2. `sandbox` opens a fresh in-memory connection per query, creates one view per dataset over its
   absolute published path, then allows only those paths (`allowed_paths`), turns off external
   access, extension auto-loading and spilling, sets `memory_limit` and `threads`, and locks the
   configuration. (DuckDB 2 checks file access when a view is *scanned*, so views over Parquet
   stop working after `enable_external_access=false` unless their files are in `allowed_paths`.)
3. A child process with hard limits (`opendata/query/sql_process.py`), which also refuses an
   answer that would carry a server path (`reveals_server_path`); DuckDB's error messages are
   scrubbed of absolute paths (`scrub`).

Geometry is exposed as WKB (`BLOB`; GeoParquet conversion is off) next to the `bbox` struct;
`ST_GeomFromWKB(geometry)` gives a GEOMETRY for DuckDB's built-in spatial functions.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import shapely

from opendata.query.sql_check import SqlError, SqlRefused, check_sql
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path

#: An absolute POSIX path of two or more segments that is not part of a URL or relative path.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~>-])(?:/[\w.~+@%-]+){2,}/?")


class SqlTimeout(SqlError):
    """The query ran longer than the time limit and was interrupted."""

    status = 422
    title = "SQL time limit exceeded"


class SqlTooBig(SqlError):
    """The query needed more memory than the sandbox allows."""

    status = 422
    title = "SQL memory limit exceeded"


class SqlBusy(SqlError):
    """Every SQL slot of this worker is taken."""

    status = 503
    title = "SQL endpoint busy"


TOO_LONG = "the query took too long and was stopped; add filters or LIMIT"
TOO_MUCH_MEMORY = "the query needed more memory than allowed; aggregate or filter more"
REVEALS_PATH = "the answer would reveal a file path of the server, so it is not sent"


@dataclass(frozen=True)
class Limits:
    """How long, how many rows and how much memory one query may use."""

    timeout_s: float = 5.0
    max_rows: int = 10_000
    memory_mb: int = 512
    max_result_mb: int = 64

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.sql_timeout_s, settings.sql_max_rows, settings.sql_memory_mb)


@dataclass(frozen=True)
class SqlResult:
    """Rows as an Arrow table, the DuckDB type names, and whether rows were cut at the limit."""

    table: pa.Table
    types: list[str]
    truncated: bool
    elapsed_ms: float


def sources(settings: Settings) -> dict[str, Path]:
    """View name -> absolute GeoParquet path of every current dataset."""
    catalog = Catalog(settings.catalog_url)
    paths = {d.name: version_path(settings, v).resolve() for d, v in catalog.current()}
    return {name: path for name, path in paths.items() if path.is_file()}  # one gone file ≠ outage


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sandbox(views: dict[str, Path], limits: Limits) -> duckdb.DuckDBPyConnection:
    """A fresh, locked-down in-memory connection with one view per dataset."""
    conn = duckdb.connect(":memory:", config={"threads": 1})
    paths = [str(p) for p in views.values()]
    for statement, params in [
        ("SET memory_limit = $1", [f"{limits.memory_mb}MB"]),
        ("SET temp_directory = ''", []),
        ("SET enable_geoparquet_conversion = false", []),
        ("SET python_enable_replacements = false", []),
        ("SET autoinstall_known_extensions = false", []),
        ("SET autoload_known_extensions = false", []),
        ("SET allow_community_extensions = false", []),
        ("SET allow_persistent_secrets = false", []),
        ("SET allowed_paths = $1", [paths]),
    ]:
        conn.execute(statement, params)
    for name, path in views.items():
        literal = "'" + str(path).replace("'", "''") + "'"
        conn.execute(f"CREATE VIEW {_quote(name)} AS SELECT * FROM read_parquet({literal})")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


@functools.cache
def _keywords() -> frozenset[str]:
    with duckdb.connect(":memory:") as conn:
        rows = conn.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
        ).fetchall()
    return frozenset(r[0] for r in rows)


def ident(name: str) -> str:
    """`name` as a DuckDB identifier: bare when it is a plain lower-case word and no keyword,
    else double-quoted (for example queries people read).

    >>> ident("roads"), ident("order"), ident("Name x")
    ('roads', '"order"', '"Name x"')
    """
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _keywords():
        return name
    return _quote(name)


@functools.lru_cache(maxsize=16)
def _describe(items: tuple[tuple[str, Path], ...]) -> dict[str, list[tuple[str, str]]]:
    views = dict(items)
    conn = sandbox(views, Limits())
    try:
        return {n: [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {_quote(n)}").fetchall()]
                for n in views}  # fmt: skip
    finally:
        conn.close()


def describe_views(views: dict[str, Path]) -> dict[str, list[tuple[str, str]]]:
    """Each view's columns and DuckDB types, as a query sees them (our own statements over our
    own files, so no child process; cached by path, as versions are immutable)."""
    try:
        return _describe(tuple(sorted(views.items())))
    except duckdb.Error:  # a broken file: the page still lists the tables, without columns
        return {}


def server_paths(views: dict[str, Path]) -> list[str]:
    """Server paths no answer may carry: each view's file and the folder holding them all
    (with its trailing slash), longest first."""
    found = {str(p) for p in views.values()}
    if views:
        found.add(os.path.join(os.path.commonpath([str(p.parent) for p in views.values()]), ""))
    return sorted(found, key=len, reverse=True)


def scrub(message: str, views: dict[str, Path]) -> str:
    """A DuckDB error message without server paths: view files become `<name>`, the folder of
    the views `<data>/`, any other absolute path `<path>`.

    >>> views = {n: Path(f"/srv/d/datasets/{n}/v1/{n}.parquet") for n in ("a", "b")}
    >>> scrub('No "/srv/d/datasets/a/v1/a.parquet", /srv/d/datasets/c/ or /etc/x', views)
    'No "<a>", <data>/c/ or <path>'
    """
    for name, path in views.items():
        message = message.replace(str(path), f"<{name}>")
    for path in server_paths(views):
        message = message.replace(path, "<data>/")
    return _ABSOLUTE_PATH.sub("<path>", message)


def reveals_server_path(payload: bytes, views: dict[str, Path]) -> bool:
    """Whether serialised answer bytes (Arrow IPC: names and every value) contain a view file or
    the views' folder. A net under the parser fence, not the fence itself."""
    return any(path.encode() in payload for path in server_paths(views))


def _read_limited(reader: pa.RecordBatchReader, limits: Limits) -> tuple[pa.Table, bool]:
    """At most `max_rows` rows (plus whether more existed); a result over `max_result_mb`
    is refused rather than built (it would have to be rendered as JSON too)."""
    batches, rows, size = [], 0, 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if size > limits.max_result_mb << 20:
            raise SqlTooBig(
                f"the result is larger than {limits.max_result_mb} MB; select fewer columns or rows"
            )
        if rows > limits.max_rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if table.num_rows > limits.max_rows:
        return table.slice(0, limits.max_rows), True
    return table, False


def _explain(err: Exception, views: dict[str, Path]) -> SqlError:
    """Map a DuckDB (or Arrow stream) error to ours, without leaking server paths."""
    message = scrub(str(err), views)
    if isinstance(err, duckdb.InterruptException) or message.startswith("INTERRUPT"):
        return SqlTimeout(TOO_LONG)
    if isinstance(err, duckdb.OutOfMemoryException | MemoryError) or "Out of Memory" in message:
        return SqlTooBig(TOO_MUCH_MEMORY)
    if isinstance(err, duckdb.PermissionException):
        return SqlRefused(f"refused by the sandbox: {message}")
    return SqlError(message)


def run_in_process(sql: str, views: dict[str, Path], limits: Limits) -> SqlResult:
    """Check and run one query in a fresh sandbox connection in this process.

    DuckDB bounds what it tracks (`memory_limit`, interrupts); servers should call
    `opendata.query.sql_process.run_sql`, which runs this in a child process with hard limits."""
    started = time.perf_counter()
    try:  # creating the views reads each file's footer: a broken file is an error here too
        conn = sandbox(views, limits)
    except (duckdb.Error, OSError) as err:
        raise _explain(err, views) from None
    timer = threading.Timer(limits.timeout_s, conn.interrupt)
    timer.start()
    try:
        check_sql(sql, set(views), conn)
        relation = conn.sql(sql)
        types = [str(t) for t in relation.types]
        table, truncated = _read_limited(relation.to_arrow_reader(1024), limits)
    except (duckdb.Error, pa.ArrowException, OSError, MemoryError) as err:
        raise _explain(err, views) from None
    finally:
        timer.cancel()
        conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    return SqlResult(table, types, truncated, round(elapsed, 1))


def _wkt_or_hex(values: list[bytes | None]) -> list[str | None]:
    present = [v for v in values if v is not None]
    geoms = shapely.from_wkb(present, on_invalid="ignore") if present else []
    if present and all(g is not None for g in geoms):
        texts = iter(shapely.to_wkt(geoms, rounding_precision=-1))
        return [next(texts) if v is not None else None for v in values]
    return [v.hex() if v is not None else None for v in values]


def plain(value: Any) -> Any:
    """A JSON-safe version of one Arrow/Python value (NaN and infinities become null).

    >>> plain(float("nan")), plain(dt.date(2024, 5, 1)), plain({"a": b"\\x01"})
    (None, '2024-05-01', {'a': '01'})
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def columns_of(table: pa.Table) -> list[list[Any]]:
    """Column-wise JSON-safe values; a BLOB column of WKB geometries is rendered as WKT,
    any other BLOB as lower-case hex."""
    out = []
    for column in table.columns:
        values = column.to_pylist()
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            out.append(_wkt_or_hex(values))
        else:
            out.append([plain(v) for v in values])
    return out


def rows_of(table: pa.Table) -> list[list[Any]]:
    """Row-wise JSON-safe values (see `columns_of`)."""
    return [list(row) for row in zip(*columns_of(table), strict=True)] if table.num_columns else []
