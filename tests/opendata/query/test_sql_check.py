"""The parse-tree fence on its own (no process, no Flask): CTE scoping as DuckDB's binder does
it, names folded like DuckDB folds them, and every catalog-reading built-in macro denied.

The scoping rules are pinned against DuckDB itself: in a connection holding a real table named
like a catalog, each statement the checker accepts must bind to the CTE, never to the table."""

from __future__ import annotations

import json

import duckdb
import pytest

from opendata.query import sql_check
from opendata.query.sql_check import SqlError, SqlRefused, check_sql

VIEWS = {"buildings", "services"}

#: Statements whose names the checker resolves to CTEs; DuckDB must agree.
CTE_SCOPES = [
    "WITH secret AS (SELECT 'CTE' AS v) SELECT v FROM secret",
    "WITH secret AS (SELECT 'CTE' AS v) SELECT (SELECT v FROM secret)",
    "WITH secret AS (SELECT 'CTE' AS v) SELECT * FROM (FROM secret)",
    "WITH secret AS (SELECT 'CTE' AS v) SELECT v FROM secret UNION ALL SELECT v FROM secret",
    "WITH secret AS (SELECT 'CTE' AS v) SELECT s.v FROM (SELECT 1), LATERAL (FROM secret) s",
    "WITH secret AS (SELECT 'CTE' AS v), b AS (FROM secret) SELECT v FROM b",
    'WITH "SECRET" AS (SELECT \'CTE\' AS v) SELECT v FROM "SeCrEt"',
    "WITH RECURSIVE secret(v) AS (SELECT 'CTE' UNION ALL SELECT v FROM secret WHERE false) "
    "SELECT v FROM secret",
]
#: Statements where DuckDB binds a CTE-looking name to the catalog table: all must be refused.
CATALOG_BINDINGS = [
    "SELECT * FROM (WITH secret AS (SELECT 'CTE' AS v) SELECT 1) t, secret",
    "SELECT v FROM secret UNION ALL (WITH secret AS (SELECT 'CTE' AS v) SELECT v FROM secret)",
    "(WITH secret AS (SELECT 'CTE' AS v) SELECT v FROM secret) UNION ALL SELECT v FROM secret",
    "WITH a AS (SELECT * FROM secret), secret AS (SELECT 'CTE' AS v) SELECT * FROM a",
    "WITH RECURSIVE a AS (SELECT * FROM secret), secret AS (SELECT 'CTE' AS v) SELECT * FROM a",
    "WITH secret AS (SELECT * FROM secret) SELECT * FROM secret",
    "WITH RECURSIVE secret AS (SELECT * FROM secret) SELECT * FROM secret",
    "WITH RECURSIVE secret(v) AS (SELECT v FROM secret UNION ALL SELECT v FROM secret WHERE false)"
    " SELECT v FROM secret",
    "WITH secret AS (SELECT 'CTE' AS v) SELECT * FROM main.secret",
    "WITH \"se\u212a\" AS (SELECT 'CTE' AS v) SELECT * FROM sek",  # Kelvin sign: no match in DuckDB
]


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    conn.execute("CREATE TABLE secret AS SELECT 'REAL' AS v")
    conn.execute("CREATE TABLE sek AS SELECT 'REAL' AS v")
    yield conn
    conn.close()


@pytest.mark.parametrize("sql", CTE_SCOPES)
def test_accepted_cte_names_bind_to_the_cte_in_duckdb(duck, sql: str) -> None:
    check_sql(sql, set())
    assert {row[-1] for row in duck.execute(sql).fetchall()} == {"CTE"}


@pytest.mark.parametrize("sql", CATALOG_BINDINGS)
def test_names_duckdb_binds_to_the_catalog_are_refused(duck, sql: str) -> None:
    assert "REAL" in {row[-1] for row in duck.execute(sql).fetchall()}  # the trick is real
    with pytest.raises(SqlRefused, match="unknown table"):
        check_sql(sql, set())


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM buildings",
        "SELECT count(*) FROM main.buildings",
        "SELECT count(*) FROM memory.main.buildings",
        'SELECT count(*) FROM "BUILDINGS"',
        "WITH buildings AS (SELECT 1 AS fid) SELECT fid FROM buildings",
        "SELECT name.upper() FROM buildings",
        "DESCRIBE buildings",
        "SUMMARIZE SELECT fid FROM services",
        "SHOW TABLES",
        "SHOW ALL TABLES",
        "SELECT * FROM range(3), unnest([1, 2])",
    ],
)
def test_plain_queries_over_the_views_pass(sql: str) -> None:
    check_sql(sql, VIEWS)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("WITH pg_settings AS (SELECT 1) SELECT * FROM (DESCRIBE pg_settings)", "unknown table"),
        ("SELECT * FROM memory.system.main.buildings", "unknown table"),
        ("SELECT * FROM temp.main.buildings", "unknown table"),
        ("SHOW TABLES FROM system.main", "SHOW TABLES"),
        ("SELECT 'threads'.current_setting()", "current_setting"),
        ("SELECT list_transform(['threads'], x -> current_setting(x))", "current_setting"),
        ("SELECT first_value(getvariable('x')) OVER () FROM buildings", "getvariable"),
        ("SELECT pg_catalog.pg_get_viewdef(1)", "pg_get_viewdef"),
    ],
)
def test_refusals_name_the_reason(sql: str, fragment: str) -> None:
    with pytest.raises(SqlRefused, match=fragment):
        check_sql(sql, VIEWS)


def test_syntax_errors_are_sql_errors_not_refusals() -> None:
    with pytest.raises(SqlError, match="syntax error") as caught:
        check_sql("SELEC 1", VIEWS)
    assert type(caught.value) is SqlError


def test_unknown_node_types_fail_closed() -> None:
    tree = {"statements": [{"node": {"type": "FUTURE_NODE", "cte_map": {"map": []}}}]}
    with pytest.raises(SqlRefused, match="cannot check"):
        sql_check.check_tree(tree, VIEWS)
    select = {"type": "SELECT_NODE", "cte_map": {"map": []}, "from_table": {"type": "NEW_REF"}}
    with pytest.raises(SqlRefused, match="cannot check"):
        sql_check.check_tree({"statements": [{"node": select}]}, VIEWS)


def _reads_tables(tree: dict) -> bool:
    text = json.dumps(tree)
    return any(kind in text for kind in ('"SUBQUERY"', '"BASE_TABLE"', '"TABLE_FUNCTION"'))


def test_every_builtin_macro_that_reads_a_table_is_denied() -> None:
    """Guards DuckDB upgrades: a new catalog-reading macro must be added to the deny list."""
    conn = duckdb.connect(":memory:")
    rows = conn.execute(
        "SELECT DISTINCT function_name, macro_definition FROM duckdb_functions() "
        "WHERE function_type = 'macro'"
    ).fetchall()
    readers = set()
    for name, body in rows:
        found = conn.execute("SELECT json_serialize_sql($1::VARCHAR)", [f"SELECT {body}"])
        tree = json.loads(found.fetchone()[0])
        if tree.get("error") or _reads_tables(tree):
            readers.add(name)
    conn.close()
    assert {"pg_get_viewdef", "get_block_size"} <= readers
    for name in readers:
        with pytest.raises(SqlRefused, match="not allowed"):
            sql_check.check_function(name, table=False)
