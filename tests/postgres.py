"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries (`.ci/sysdeps.sh`),
`initdb` in a temporary folder, `pg_ctl` on a free port, no system service assumed. Run as the
`postgres` user when the tests run as root (the server refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def server_bin() -> Path | None:
    """Folder holding `initdb`, `pg_ctl` and `postgres` (PATH first, then Debian's layout)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(folder: Path) -> dict:
    """`subprocess` arguments that drop root to `postgres` (who must own the cluster folder)."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster in a new temporary folder (outside pytest's root-only tmp tree, which the
    `postgres` user cannot enter); yields the admin URL (trust auth on 127.0.0.1 only)."""
    binaries = server_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries not found (run `make sysdeps`)")
    folder = Path(tempfile.mkdtemp(prefix="civic-pg-"))
    os.chmod(folder, 0o755)
    data, port = folder / "pgdata", _free_port()
    data.mkdir(mode=0o700)
    user = _as_server_user(folder)
    _as_server_user(data)
    run = {"check": True, "capture_output": True, **user}
    subprocess.run([binaries / "initdb", "-D", data, "-U", "civic", "--auth=trust", "-E", "UTF8",
                    "--no-sync"], **run)  # fmt: skip
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run([binaries / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w",
                    "start"], **run)  # fmt: skip
    try:
        yield f"postgresql+psycopg://civic@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       **{**run, "check": False})  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(admin_url: str, *, template: str = "") -> str:
    """A new database on the cluster, empty or a copy of `template` (whose other sessions are
    ended first: PostgreSQL copies only an idle template); returns its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if template:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": template},
            )
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{suffix}'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
