"""The SQL sandbox against hostile corpora: every file, statement and catalog escape attempt is
refused with a 4xx problem and a clear message, no answer carries the data dir's path, and no file
under the data dir changes."""

from __future__ import annotations

import resource
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from api.app import create_app
from opendata.query import sql as sandbox
from opendata.query import sql_process
from opendata.query.sql_check import SqlRefused, check_sql
from tests.api.conftest_data import REPO, Store, published_store, snapshot
from tests.opendata.query.sql_cases import CATALOG_ESCAPES, NOT_ALLOWED, UNKNOWN

ONE = "exactly one statement"
TOO_LONG = "took too long"
MEMORY = "memory"
EITHER_LIMIT = f"{TOO_LONG}|{MEMORY}"


def corpus(data: Path) -> list[tuple[str, str]]:
    """(statement, expected fragment(s) of the refusal, `|`-separated alternatives): file readers,
    writers, settings, statement smuggling, case and comment tricks, time and memory bombs."""
    return [
        ("SELECT * FROM read_csv('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM read_text('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM read_blob('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM read_json_auto('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM read_parquet('../catalog.db')", NOT_ALLOWED),
        (f"SELECT * FROM read_parquet('{data}/catalog.db')", NOT_ALLOWED),
        (
            f"SELECT * FROM parquet_metadata('{data}/datasets/buildings/v1/buildings.parquet')",
            NOT_ALLOWED,
        ),
        ("SELECT * FROM sniff_csv('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM glob('/*')", NOT_ALLOWED),
        ("FROM '/etc/passwd'", UNKNOWN),
        (f"SELECT * FROM '{data}/catalog.db'", UNKNOWN),
        ("SELECT * FROM 'https://example.org/x.parquet'", UNKNOWN),
        (f"COPY buildings TO '{data}/pwn.csv'", NOT_ALLOWED),
        (f"COPY (SELECT 1) TO '{data}/pwn.parquet' (FORMAT parquet)", NOT_ALLOWED),
        (f"EXPORT DATABASE '{data}/export'", NOT_ALLOWED),
        (f"IMPORT DATABASE '{data}'", NOT_ALLOWED),
        ("ATTACH ':memory:' AS m", NOT_ALLOWED),
        (f"ATTACH '{data}/catalog.db' AS cat (TYPE sqlite)", NOT_ALLOWED),
        (f"ATTACH '{data}/pwn.duckdb' AS pwn", NOT_ALLOWED),
        ("DETACH memory", NOT_ALLOWED),
        ("INSTALL httpfs", NOT_ALLOWED),
        ("LOAD httpfs", NOT_ALLOWED),
        ("SET enable_external_access = true", NOT_ALLOWED),
        ("RESET allowed_paths", NOT_ALLOWED),
        ("SET lock_configuration = false", NOT_ALLOWED),
        ("PRAGMA database_list", NOT_ALLOWED),
        ("CALL pragma_version()", NOT_ALLOWED),
        ("CHECKPOINT", NOT_ALLOWED),
        ("CREATE MACRO pwn(x) AS x", NOT_ALLOWED),
        ("CREATE TABLE t AS SELECT * FROM buildings", NOT_ALLOWED),
        ("CREATE OR REPLACE VIEW buildings AS SELECT 1", NOT_ALLOWED),
        ("INSERT INTO buildings (fid) VALUES (0)", NOT_ALLOWED),
        ("UPDATE buildings SET floors = 0", NOT_ALLOWED),
        ("DELETE FROM buildings", NOT_ALLOWED),
        ("DROP VIEW buildings", NOT_ALLOWED),
        ("USE system", NOT_ALLOWED),
        ("BEGIN TRANSACTION", NOT_ALLOWED),
        ("PREPARE p AS SELECT 1", NOT_ALLOWED),
        ("EXPLAIN ANALYZE SELECT * FROM buildings", NOT_ALLOWED),
        ("PIVOT buildings ON floors USING count(*)", NOT_ALLOWED),
        (f"SELECT 1; COPY buildings TO '{data}/pwn.csv'", ONE),
        (f"SELECT 1 /* ; */ ; ATTACH '{data}/pwn.duckdb'", ONE),
        (f"SELECT 1 --\n; COPY buildings TO '{data}/pwn.csv'", ONE),
        ("sElEcT * fRoM rEaD_cSv('/etc/passwd')", NOT_ALLOWED),
        ("SELECT * FROM \"read_csv\"('/etc/passwd')", NOT_ALLOWED),
        ("SELECT/**/*/**/FROM/**/read_text('/etc/passwd')", NOT_ALLOWED),
        ("WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", NOT_ALLOWED),
        ("SELECT * FROM buildings, LATERAL (SELECT * FROM read_text('/etc/passwd'))", NOT_ALLOWED),
        ("SELECT (SELECT content FROM read_text('/etc/passwd'))", NOT_ALLOWED),
        ("SELECT * FROM buildings WHERE fid IN (SELECT 1 FROM glob('/*'))", NOT_ALLOWED),
        ("SELECT * FROM query('COPY buildings TO ''/tmp/pwn.csv''')", NOT_ALLOWED),
        ("SELECT * FROM query_table('buildings')", NOT_ALLOWED),
        ("SELECT getenv('HOME')", NOT_ALLOWED),
        ("SELECT current_setting('allowed_paths')", NOT_ALLOWED),
        ("SELECT getvariable('x')", NOT_ALLOWED),
        ("SELECT write_log('pwn')", NOT_ALLOWED),
        ("SELECT * FROM duckdb_settings()", NOT_ALLOWED),
        ("SELECT * FROM system.main.duckdb_tables()", NOT_ALLOWED),
        ("SELECT * FROM enable_logging()", NOT_ALLOWED),
        ("SELECT * FROM information_schema.tables", UNKNOWN),
        ("SELECT * FROM sqlite_master", UNKNOWN),
        ("SELECT * FROM system.main.buildings", UNKNOWN),
        (
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) "
            "SELECT count(*) FROM t",
            TOO_LONG,
        ),
        (
            "SELECT count(*) FROM range(1000000000) a, range(1000000000) b "
            "WHERE a.range + b.range = -1",
            EITHER_LIMIT,
        ),
        ("SELECT list(range) FROM range(2000000000)", MEMORY),
        ("SELECT length(repeat('x', 2000000000))", EITHER_LIMIT),  # one uninterruptible 2 GB step
        ("SELECT repeat('x', 1000000) FROM range(100000)", EITHER_LIMIT),
        ("SELECT 1" + " " * 20_001, "longer than"),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return published_store(tmp_path_factory)


@pytest.fixture(scope="module")
def client(store: Store):
    """Tight limits so the time and memory bombs end quickly."""
    tight = replace(store.settings, sql_timeout_s=1.0, sql_memory_mb=128)
    return create_app(tight).test_client()


def refusal(client, sql: str):
    return client.post("/api/sql", json={"sql": sql})


def test_corpus_is_large_enough(store: Store) -> None:
    assert len(corpus(store.settings.data_dir)) >= 25


@pytest.mark.parametrize("index", range(len(corpus(Path("/data")))))
def test_each_escape_attempt_is_refused_with_a_clear_4xx(client, store: Store, index: int) -> None:
    sql, fragment = corpus(store.settings.data_dir)[index]
    started = time.monotonic()
    resp = refusal(client, sql)
    text = resp.get_data(as_text=True)
    assert 400 <= resp.status_code < 500, text
    assert resp.headers["Content-Type"] == "application/problem+json"
    detail = resp.json["detail"].lower()
    assert any(f in detail for f in fragment.lower().split("|")), detail
    assert "root:" not in text
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("sql", "fragment"), CATALOG_ESCAPES)
def test_each_catalog_escape_is_refused_with_a_clear_4xx(client, sql: str, fragment: str) -> None:
    resp = refusal(client, sql)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json["title"] == "SQL statement not allowed"
    assert fragment.lower() in resp.json["detail"].lower()


#: Allowed introspection, and statements that fail inside DuckDB: their answers are scanned too.
INTROSPECTION = [
    "DESCRIBE buildings",
    "SUMMARIZE buildings",
    "SELECT * FROM (SUMMARIZE services)",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    "SHOW buildings",
]
FAILING = [
    "SELECT CAST(name AS INTEGER) FROM buildings",
    "SELECT error('no')",
    "SELECT ST_Area(ST_GeomFromWKB(geometry)) FROM buildings",
]


def test_no_answer_carries_a_server_path(client, store: Store) -> None:
    """Every answer to every statement of both corpora: no data dir, cwd or home path (beyond
    what the statement itself spelled out, which problem+json's `instance` echoes)."""
    paths = {str(store.settings.data_dir), str(store.settings.data_dir.resolve())}
    paths |= {str(Path.cwd()), str(Path.home())}
    statements = [sql for sql, _ in corpus(store.settings.data_dir) + CATALOG_ESCAPES]
    answers = [(sql, refusal(client, sql)) for sql in statements + FAILING + INTROSPECTION]
    answers += [(sql, client.get("/api/sql", query_string={"sql": sql})) for sql in INTROSPECTION]
    for sql, resp in answers:
        text = resp.get_data(as_text=True)
        assert not [p for p in paths if p in text and p not in sql], (sql, text[:300])
    assert sum(resp.status_code == 200 for _, resp in answers) == 2 * len(INTROSPECTION)
    assert len(answers) >= 150


def test_an_answer_carrying_a_view_file_path_is_refused(client, store: Store) -> None:
    """The net under the parser: even a path the user typed does not come back."""
    path = sandbox.sources(store.settings)["buildings"]
    resp = refusal(client, f"SELECT '{path}' AS p")
    assert resp.status_code == 400
    assert "file path of the server" in resp.json["detail"]
    assert str(path) not in resp.get_data(as_text=True)


def test_duckdb_errors_about_files_are_scrubbed(tmp_path: Path) -> None:
    broken = tmp_path / "datasets" / "broken" / "v1" / "broken.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(sandbox.SqlError) as caught:
        sandbox.run_in_process("SELECT * FROM broken", {"broken": broken}, sandbox.Limits())
    assert "<broken>" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)


def test_data_dir_and_cwd_unchanged_after_the_whole_corpus(client, store: Store) -> None:
    data = store.settings.data_dir
    before = snapshot(data)
    cwd_before = sorted(p.name for p in Path.cwd().iterdir())
    for sql, _ in corpus(data):
        assert refusal(client, sql).status_code >= 400
    # SQLite's WAL index (-shm) is shared memory that catalog *readers* update; it holds no data.
    assert {k: v for k, v in snapshot(data).items() if not k.endswith("-shm")} == {
        k: v for k, v in before.items() if not k.endswith("-shm")
    }
    assert sorted(p.name for p in Path.cwd().iterdir()) == cwd_before
    assert not list(REPO.glob("pwn*")) and not Path("/tmp/pwn.csv").exists()


def test_timeout_answers_within_the_limit(client) -> None:
    started = time.monotonic()
    resp = refusal(
        client,
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT max(n) FROM t",
    )
    assert resp.status_code == 422
    assert resp.json["title"] == "SQL time limit exceeded"
    assert time.monotonic() - started < 6  # 1 s limit; generous for a loaded 2-core CI box


def test_uninterruptible_allocation_is_contained_in_the_child(client) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resp = refusal(client, "SELECT length(repeat('x', 2000000000))")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert resp.status_code == 422
    assert grown_mb < 256


def test_busy_worker_answers_503(store: Store) -> None:
    taken = [sql_process.SLOTS.acquire(timeout=5) for _ in range(2)]
    try:
        with pytest.raises(sandbox.SqlBusy):
            sql_process.run_sql("SELECT 1", {}, sandbox.Limits(timeout_s=0.2))
    finally:
        for _ in taken:
            sql_process.SLOTS.release()
    assert sandbox.SqlBusy.status == 503


def test_duckdb_checks_file_access_when_a_view_is_scanned(store: Store) -> None:
    """Why `allowed_paths` is needed: in DuckDB 2 a view over Parquet stops working once
    external access is off, unless its file is allowed."""
    path = sandbox.sources(store.settings)["services"]
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"CREATE VIEW v AS SELECT * FROM read_parquet('{path}')")
        conn.execute("SET enable_external_access = false")
        with pytest.raises(duckdb.PermissionException):
            conn.execute("SELECT count(*) FROM v").fetchall()
    finally:
        conn.close()


def test_engine_sandbox_blocks_files_even_without_the_parser_check(store: Store) -> None:
    views = sandbox.sources(store.settings)
    conn = sandbox.sandbox(views, sandbox.Limits())
    try:
        assert conn.execute("SELECT count(*) FROM buildings").fetchall() == [(300,)]
        settings = dict(
            conn.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('threads', 'lock_configuration', 'enable_external_access',"
                " 'autoload_known_extensions', 'temp_directory')"
            ).fetchall()
        )
        assert settings == {
            "threads": "1",
            "lock_configuration": "true",
            "enable_external_access": "false",
            "autoload_known_extensions": "false",
            "temp_directory": "",
        }
        with pytest.raises(duckdb.PermissionException):
            conn.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.PermissionException):
            conn.execute(
                f"SELECT * FROM read_text('{store.settings.data_dir}/catalog.db')"
            ).fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            conn.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            conn.execute("INSTALL httpfs")
    finally:
        conn.close()


def test_check_sql_accepts_ctes_named_like_nothing_published() -> None:
    check_sql("WITH totals AS (SELECT 1 AS n) SELECT n FROM totals", {"buildings"})


def test_check_sql_refuses_tables_outside_the_views() -> None:
    with pytest.raises(SqlRefused, match="unknown table 'secrets'"):
        check_sql("SELECT * FROM secrets", {"buildings"})
