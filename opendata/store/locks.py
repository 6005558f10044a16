"""One publisher per dataset at a time, across every host that shares the catalog.

On PostgreSQL the lock is a session advisory lock held on its own connection, so two hosts (or
two processes anywhere) that publish the same dataset queue up behind each other; if a holder is
killed, the server drops its session and the lock with it. On the SQLite default, where the
catalog is a file on one machine, a `flock` beside the dataset's files does the same.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a dataset name (PostgreSQL advisory locks take int8).

    >>> advisory_key("roads") == advisory_key("roads") != advisory_key("stops")
    True
    """
    digest = hashlib.blake2b(f"civic-publish:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def advisory_lock(engine: sa.Engine, name: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock for `name` (waits for another holder)."""
    key = advisory_key(name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def file_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `folder/.lock` (one host only)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
