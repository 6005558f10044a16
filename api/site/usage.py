"""How much each dataset is used: page views and downloads counted in a tiny SQLite table.

Only a counter per dataset and kind is stored (no addresses, no times, no cookies), so the home
page can list the most used datasets without tracking anyone. A counter that cannot be written
(read-only disk, locked file) is skipped: a page never fails because of it.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger("civic.site")
KINDS = ("view", "download")
FILE_NAME = "site_usage.sqlite"
_SCHEMA = """CREATE TABLE IF NOT EXISTS usage (
    dataset TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset, kind))"""


def usage_file(data_dir: Path) -> Path:
    """Where the counters of a store live."""
    return Path(data_dir) / FILE_NAME


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=2.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    return conn


def record(path: Path, dataset: str, kind: str) -> bool:
    """Add one to a counter; False (and a log line) when the counter could not be written."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    try:
        conn = _connect(path)
        try:
            with conn:
                conn.execute(
                    "INSERT INTO usage (dataset, kind, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (dataset, kind) DO UPDATE SET count = count + 1",
                    (dataset, kind),
                )
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as err:
        log.warning("usage counter not written: %s", err)
        return False
    return True


def totals(path: Path) -> dict[str, int]:
    """Views + downloads per dataset ({} when nothing was counted yet)."""
    if not path.is_file():
        return {}
    try:
        conn = _connect(path)
        try:
            rows = conn.execute("SELECT dataset, SUM(count) FROM usage GROUP BY dataset").fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as err:
        log.warning("usage counters not readable: %s", err)
        return {}
    return {name: int(count) for name, count in rows}
