"""Alembic migrations: a fresh database reaches the newest revision with exactly the tables the
code queries, an old (pre-migration) catalog is adopted and upgraded with its rows, and
`civic db upgrade` reports the revision or says in one line why it cannot."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from api.cli import cli
from opendata.settings import Settings
from opendata.store import catalog, schema
from twin.jobs import queue

#: The 0.1.0 schema exactly as `meta.create_all` wrote it (before migrations existed).
OLD_CATALOG = """
CREATE TABLE datasets (name VARCHAR(64) NOT NULL, spec TEXT NOT NULL, kind VARCHAR(16) NOT NULL,
  current_version INTEGER, created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL,
  PRIMARY KEY (name));
CREATE TABLE runs (id INTEGER NOT NULL, dataset VARCHAR(64) NOT NULL, started_at VARCHAR(32)
  NOT NULL, finished_at VARCHAR(32), status VARCHAR(16) NOT NULL, version INTEGER, message TEXT,
  report_dir TEXT, PRIMARY KEY (id));
CREATE INDEX ix_runs_dataset ON runs (dataset);
CREATE TABLE versions (dataset VARCHAR(64) NOT NULL, version INTEGER NOT NULL, content_hash
  VARCHAR(64) NOT NULL, path TEXT NOT NULL, rows INTEGER NOT NULL, bbox TEXT, source_crs
  VARCHAR(32), columns TEXT NOT NULL, report TEXT NOT NULL, provenance TEXT NOT NULL, size_bytes
  INTEGER NOT NULL, created_at VARCHAR(32) NOT NULL, PRIMARY KEY (dataset, version),
  FOREIGN KEY(dataset) REFERENCES datasets (name));
INSERT INTO datasets VALUES ('roads', '{}', 'dataset', 1, '2026-01-01', '2026-01-01');
INSERT INTO versions VALUES ('roads', 1, 'abc', 'datasets/roads/v1/roads.parquet', 7, NULL,
  NULL, '[]', '{}', '{}', 123, '2026-01-01');
"""


def _diff(url: str) -> list:
    """Differences between the migrated database and the tables the code queries."""
    target = sa.MetaData()
    for table in (*catalog.meta.tables.values(), *queue.meta.tables.values()):
        table.to_metadata(target)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), target)
    engine.dispose()
    # SQLite cannot tell BIGINT from INTEGER storage; only real differences count there.
    return [d for d in diff if not (url.startswith("sqlite") and d[0][0] == "modify_type")]


def test_fresh_database_reaches_head_with_the_tables_the_code_queries(
    backend_settings: Settings,
) -> None:
    engine = catalog.engine_for(backend_settings.catalog_url)
    assert schema.current(engine) == schema.head() == "0003"
    assert _diff(backend_settings.catalog_url) == []


def test_old_sqlite_catalog_is_adopted_and_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_CATALOG)
    url = f"sqlite:///{path}"
    found = catalog.Catalog(url)
    assert schema.current(found.engine) == "0003"
    assert [(v.version, v.rows, v.size_bytes) for v in found.versions("roads")] == [(1, 7, 123)]
    assert _diff(url) == []
    tables = set(sa.inspect(found.engine).get_table_names())
    assert {"datasets", "versions", "runs", "scenario_jobs", "alembic_version"} <= tables


@pytest.mark.slow
def test_migrations_downgrade_to_empty_and_back(postgres_url: str) -> None:
    """Every revision's downgrade works, so a bad rollout can be walked back."""
    engine = sa.create_engine(postgres_url)
    schema.upgrade(engine)
    config = schema._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    assert schema.upgrade(engine) == "0003"
    engine.dispose()


def test_db_upgrade_command_reports_the_revision(backend_settings: Settings) -> None:
    url = backend_settings.catalog_url
    env = {"CIVIC_DATA_DIR": str(backend_settings.data_dir), "CIVIC_CATALOG_URL": url}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    shown = sa.make_url(url).render_as_string(hide_password=True)
    assert result.output == f"CIVIC_CATALOG_URL ({shown}): at revision 0003\n"
    assert schema.current(catalog.engine_for(url)) == "0003"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "CIVIC_CATALOG_URL is not a database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/x", "cannot reach the database"),
    ],
)
def test_db_upgrade_refuses_a_bad_catalog_url_in_one_line(url: str, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "db", "upgrade"],
        env={"CIVIC_CATALOG_URL": url, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
