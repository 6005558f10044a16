"""The SQL sandbox's first fence: decide on DuckDB's own parse tree whether a statement is one
read-only query that reaches nothing but the dataset views (no Flask, no data).

`check_sql` asks DuckDB's parser for the statement kind (`extract_statements`) and its tree
(`json_serialize_sql`), then resolves every table name the way DuckDB's binder does:

- a CTE name covers only the query whose WITH defines it: that query's body, the CTEs after it in
  the same WITH and, for a recursive CTE, its recursive term. Never its own definition, an outer
  query, a sibling subquery, or a schema-qualified name (`main.pg_settings` is the catalog's);
- every other table must be a dataset view (optionally `main.` / `memory.main.`), so system
  catalogs (`pg_settings`, `sqlite_master`, `information_schema.*`, `duckdb_views`) and
  replacement scans (`FROM '/etc/passwd'`) are refused in every scope;
- `DESCRIBE`/`SUMMARIZE`/`SHOW` see no outer CTE, and of the `SHOW` lists only `SHOW TABLES`
  and `SHOW ALL TABLES` (which list the dataset views) are allowed;
- table functions come from a short allow-list; scalar functions that read settings, variables,
  logs, the environment or the catalog (`current_setting`, `getenv`, `pg_get_viewdef`, ...) are
  refused, whatever schema qualifies them.

Names are folded to lower case for ASCII letters only, as DuckDB folds identifiers, so a CTE named
with the Kelvin sign (U+212A) does not cover `duckdb_views`. Unknown node types are refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from opendata.errors import CivicError

MAX_SQL_LENGTH = 20_000
#: Table functions that generate or unpack values and touch no files.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree"}
)
#: Scalar functions that reveal settings, variables, logs, secrets or the environment, run SQL
#: text, or are built-in macros over the catalog (`pg_get_viewdef` reads `duckdb_views()`;
#: `test_sql_sandbox.py` checks every such macro of the installed DuckDB is here).
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getenv",
        "getvariable",
        "write_log",
        "json_execute_serialized_sql",
        "query",
        "query_table",
        "which_secret",
        "parse_duckdb_log_message",
        "format_type",
        "get_block_size",
        "pg_get_constraintdef",
        "pg_get_viewdef",
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
    "pg_get_",
    "__internal",
)
#: `SHOW TABLES` and `SHOW ALL TABLES`: they list the dataset views and nothing else.
ALLOWED_SHOW_LISTS = frozenset({"tables", "__show_tables_expanded"})
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"})
_TABLE_REFS = frozenset(
    {"BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EXPRESSION_LIST", "EMPTY", "PIVOT"}
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class SqlError(CivicError):
    """Base of SQL endpoint errors; `status` is the HTTP status and `title` its short name."""

    status = 400
    title = "Invalid SQL"


class SqlRefused(SqlError):
    """The statement is not a single read-only query over the published datasets."""

    title = "SQL statement not allowed"


def fold(name: object) -> str:
    """An identifier as DuckDB compares it: ASCII letters lower-cased, nothing else changed.

    >>> fold("PG_Settings"), fold("DUC\\u212aDB_VIEWS") == "duckdb_views"
    ('pg_settings', False)
    """
    return str(name or "").translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Scope:
    """What a table name can mean at one point of the tree: a dataset view or a visible CTE."""

    views: frozenset[str]
    ctes: frozenset[str] = frozenset()

    def with_cte(self, name: object) -> Scope:
        return Scope(self.views, self.ctes | {fold(name)})

    def without_ctes(self) -> Scope:
        return Scope(self.views)


_LOCAL = threading.local()


def _parser() -> duckdb.DuckDBPyConnection:
    """A per-thread connection used only to parse (it never touches data or files)."""
    if not hasattr(_LOCAL, "conn"):
        _LOCAL.conn = duckdb.connect(":memory:", config={"enable_external_access": False})
    return _LOCAL.conn


def parse_tree(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The parse tree of exactly one SELECT-family statement (else `SqlRefused`)."""
    statements = conn.extract_statements(sql)
    if len(statements) != 1:
        raise SqlRefused(f"send exactly one statement, got {len(statements)}")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise SqlRefused(
            f"{kind} statements are not allowed; only read-only queries "
            "(SELECT, WITH, VALUES, DESCRIBE, SHOW TABLES, SUMMARIZE)"
        )
    rows = conn.execute("SELECT json_serialize_sql($1::VARCHAR)", [sql]).fetchall()
    tree = json.loads(rows[0][0])
    if tree.get("error"):
        raise SqlRefused(f"cannot check this statement: {tree.get('error_message', 'unsupported')}")
    if len(tree.get("statements", [])) != 1:
        raise SqlRefused("send exactly one statement")
    return tree


def _unsupported(what: object) -> SqlRefused:
    return SqlRefused(f"cannot check this statement (it uses {str(what)[:40]}); write it plainly")


def _unknown_table(node: dict[str, Any], scope: Scope) -> SqlRefused:
    parts = [node.get("catalog_name"), node.get("schema_name"), node.get("table_name")]
    shown = ".".join(str(p) for p in parts if p)[:80]
    return SqlRefused(
        f"unknown table '{shown}'; only the dataset views can be queried "
        f"({', '.join(sorted(scope.views)) or 'none is published'}); "
        "system catalogs and settings are not available"
    )


def _is_view(node: dict[str, Any], name: str, scope: Scope) -> bool:
    """A dataset view, bare or qualified as `main.`, `memory.` or `memory.main.`."""
    catalog, schema = fold(node.get("catalog_name")), fold(node.get("schema_name"))
    path = [fold(p) for p in (node.get("qualified_name") or {}).get("path", [])]
    if path and (path[-1] != name or len(path) > 3 or set(path[:-1]) - {"memory", "main"}):
        return False
    return name in scope.views and catalog in ("", "memory") and schema in ("", "main", "memory")


def _check_table(node: dict[str, Any], scope: Scope) -> None:
    name = fold(node.get("table_name"))
    path = (node.get("qualified_name") or {}).get("path", [])
    qualified = bool(node.get("catalog_name") or node.get("schema_name")) or len(path) > 1
    if not qualified and name in scope.ctes:
        return
    if not _is_view(node, name, scope):
        raise _unknown_table(node, scope)


def check_function(name: object, *, table: bool) -> None:
    """Refuse a table function off the allow-list, or a scalar function that reads settings,
    the environment or the catalog."""
    name = fold(name)
    if table and name not in ALLOWED_TABLE_FUNCTIONS:
        raise SqlRefused(
            f"table function {name}() is not allowed; query the dataset views instead "
            f"(allowed: {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
        )
    if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
        raise SqlRefused(f"function {name}() is not allowed in the SQL sandbox")


def _require_ref(node: object) -> None:
    """Fail closed: a FROM item must be a table reference this checker knows."""
    kind = node.get("type") if isinstance(node, dict) else None
    if kind not in _TABLE_REFS and kind != "SHOW_REF":
        raise _unsupported(kind)


def _check_ref(node: dict[str, Any], scope: Scope) -> None:
    kind = node["type"]
    if kind == "BASE_TABLE":
        _check_table(node, scope)
    elif kind == "TABLE_FUNCTION":
        check_function((node.get("function") or {}).get("function_name"), table=True)
    elif kind == "JOIN":
        _require_ref(node.get("left"))
        _require_ref(node.get("right"))
    elif kind == "PIVOT":
        _require_ref(node.get("source"))


def _visit_show(node: dict[str, Any], scope: Scope) -> None:
    """DESCRIBE / SUMMARIZE / SHOW: bound on their own, so no outer CTE covers their names."""
    show = node.get("show_type")
    if show == "SHOW_SPECIAL":
        listed = fold(node.get("table_name")).strip('"')
        if listed not in ALLOWED_SHOW_LISTS:
            raise SqlRefused(
                f"SHOW {listed.upper()[:40]} is not available; SHOW TABLES lists the dataset views"
            )
        return
    if show not in ("DESCRIBE", "SUMMARY", "SHOW"):
        raise SqlRefused("only SHOW TABLES, DESCRIBE and SUMMARIZE of the dataset views work here")
    bare = scope.without_ctes()
    if node.get("table_name"):
        _check_table(node, bare)
    _visit(node.get("query"), bare)


def _visit_query(node: dict[str, Any], scope: Scope) -> None:
    """A query node: its WITH names cover its own body, each CTE sees only the earlier ones."""
    kind = node.get("type")
    if kind not in _QUERY_NODES:
        raise _unsupported(kind)
    inner = scope
    for entry in node["cte_map"].get("map", []):
        _visit(entry.get("value"), inner)
        inner = inner.with_cte(entry.get("key"))
    if kind == "SELECT_NODE":
        _require_ref(node.get("from_table"))
    for key, value in node.items():
        if key == "cte_map":
            continue
        if kind == "RECURSIVE_CTE_NODE" and key == "right":
            _visit(value, inner.with_cte(node.get("cte_name")))  # only the recursive term
        else:
            _visit(value, inner)


def _visit(node: object, scope: Scope) -> None:
    if isinstance(node, list):
        for item in node:
            _visit(item, scope)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if isinstance(node.get("cte_map"), dict):
        _visit_query(node, scope)
        return
    if kind == "SHOW_REF":
        _visit_show(node, scope)
        return
    if "class" in node:
        if node["class"] in ("FUNCTION", "WINDOW"):
            check_function(node.get("function_name"), table=False)
    elif kind in _QUERY_NODES:
        raise _unsupported(kind)  # a query node without its WITH map: not a shape we know
    elif kind in _TABLE_REFS:
        _check_ref(node, scope)
    for value in node.values():
        _visit(value, scope)


def check_tree(tree: dict[str, Any], views: Iterable[str]) -> None:
    """Raise `SqlRefused` unless every name in the parse tree resolves to a dataset view, a CTE
    in scope or an allowed function."""
    _visit(tree.get("statements", []), Scope(frozenset(fold(v) for v in views)))


def check_sql(sql: str, tables: set[str], conn: duckdb.DuckDBPyConnection | None = None) -> None:
    """Raise `SqlRefused`/`SqlError` unless `sql` is one read-only query over `tables`."""
    if not sql.strip():
        raise SqlError("the 'sql' parameter is empty")
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlRefused(f"the statement is longer than {MAX_SQL_LENGTH} characters")
    try:
        tree = parse_tree(conn or _parser(), sql)
    except duckdb.ParserException as err:
        raise SqlError(str(err)) from None
    check_tree(tree, tables)
