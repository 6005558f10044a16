"""Read-only, sandboxed DuckDB SQL over the current datasets (no Flask).

Two independent fences:

1. `check_sql` parses the text with DuckDB's own parser and accepts exactly one SELECT-family
   statement (SELECT, WITH, VALUES, FROM-first, DESCRIBE, SHOW, SUMMARIZE), then walks its parse
   tree (`json_serialize_sql`): tables must be dataset views or CTEs, table functions come from a
   short allow-list (`range`, `unnest`, ...), and functions that read settings or the environment
   are refused. File readers, replacement scans (`FROM '/etc/passwd'`) and `query()` never pass.
2. `sandbox` opens a fresh in-memory connection per query, creates one view per dataset over its
   absolute published path, then allows only those paths (`allowed_paths`), turns off external
   access, extension auto-loading and spilling, sets `memory_limit` and `threads`, and locks the
   configuration. (DuckDB 2 checks file access when a view is *scanned*, so views over Parquet
   stop working after `enable_external_access=false` unless their files are in `allowed_paths`.)

A third fence, a child process with hard limits, is in `opendata/query/sql_process.py`.

Geometry is exposed as WKB (`BLOB`; GeoParquet conversion is off) next to the `bbox` struct;
`ST_GeomFromWKB(geometry)` gives a GEOMETRY for DuckDB's built-in spatial functions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from opendata.errors import CivicError
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path

MAX_SQL_LENGTH = 20_000
#: Table functions that generate or unpack values and touch no files.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree"}
)
#: Scalar functions that would reveal settings, variables or the environment, or write logs.
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getenv",
        "getvariable",
        "write_log",
        "json_execute_serialized_sql",
        "query",
        "query_table",
    }
)
DENIED_PREFIXES = (
    "read_",
    "duckdb_",
    "pragma_",
    "parquet_",
    "sniff_",
    "glob",
    "enable_",
    "disable_",
)
_QUERY_LIKE = {"SELECT"}


class SqlError(CivicError):
    """Base of SQL endpoint errors; `status` is the HTTP status and `title` its short name."""

    status = 400
    title = "Invalid SQL"


class SqlRefused(SqlError):
    """The statement is not a single read-only query over the published datasets."""

    title = "SQL statement not allowed"


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


_LOCAL = threading.local()


def _parser() -> duckdb.DuckDBPyConnection:
    """A per-thread connection used only to parse (it never touches data or files)."""
    if not hasattr(_LOCAL, "conn"):
        _LOCAL.conn = duckdb.connect(":memory:", config={"enable_external_access": False})
    return _LOCAL.conn


def _parse_tree(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    statements = conn.extract_statements(sql)
    if len(statements) != 1:
        raise SqlRefused(f"send exactly one statement, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in _QUERY_LIKE:
        raise SqlRefused(
            f"{kind} statements are not allowed; only read-only queries "
            "(SELECT, WITH, VALUES, DESCRIBE, SHOW, SUMMARIZE)"
        )
    rows = conn.execute("SELECT json_serialize_sql($1::VARCHAR)", [sql]).fetchall()
    tree = json.loads(rows[0][0])
    if tree.get("error"):
        raise SqlRefused(f"cannot check this statement: {tree.get('error_message', 'unsupported')}")
    return tree


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _cte_names(tree: dict[str, Any]) -> set[str]:
    return {
        entry["key"].lower()
        for node in _walk(tree)
        if isinstance(node.get("cte_map"), dict)
        for entry in node["cte_map"].get("map", [])
        if isinstance(entry, dict) and "key" in entry
    }


def _check_function(name: str, *, table: bool) -> None:
    name = name.lower()
    if table and name not in ALLOWED_TABLE_FUNCTIONS:
        raise SqlRefused(
            f"table function {name}() is not allowed; query the dataset views instead "
            f"(allowed: {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
        )
    if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
        raise SqlRefused(f"function {name}() is not allowed in the SQL sandbox")


def _check_table(node: dict[str, Any], allowed: set[str]) -> None:
    name = str(node.get("table_name", ""))
    schema = str(node.get("schema_name", "")).lower()
    catalog = str(node.get("catalog_name", "")).lower()
    if name.lower() not in allowed or schema not in ("", "main") or catalog not in ("", "memory"):
        shown = ".".join(p for p in (catalog, schema, name) if p)[:80]
        raise SqlRefused(
            f"unknown table '{shown}'; the tables are the dataset views: "
            + ", ".join(sorted(allowed))
        )


def check_sql(sql: str, tables: set[str], conn: duckdb.DuckDBPyConnection | None = None) -> None:
    """Raise `SqlRefused`/`SqlError` unless `sql` is one read-only query over `tables`."""
    if not sql.strip():
        raise SqlError("the 'sql' parameter is empty")
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlRefused(f"the statement is longer than {MAX_SQL_LENGTH} characters")
    try:
        tree = _parse_tree(conn or _parser(), sql)
    except duckdb.ParserException as err:
        raise SqlError(str(err)) from None
    allowed = {t.lower() for t in tables} | _cte_names(tree)
    for node in _walk(tree):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            _check_function(str(node.get("function", {}).get("function_name", "")), table=True)
        elif kind == "BASE_TABLE":
            _check_table(node, allowed)
        elif node.get("class") == "FUNCTION":
            _check_function(str(node.get("function_name", "")), table=False)


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
    message = str(err)
    for name, path in views.items():
        message = message.replace(str(path), f"<{name}>")
    message = message.replace(str(Path.cwd()), "<server>")
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
    conn = sandbox(views, limits)
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
