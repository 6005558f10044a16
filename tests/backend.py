"""Which back end the integration suite's shared stores run on, chosen by `CIVIC_TEST_BACKEND`:
`sqlite` (the default: a SQLite catalog and a local folder store) or `pg-s3` (a PostgreSQL
catalog on the session's throwaway cluster and versions on the session's moto S3 server).

`make test` runs the integration suite a second time with `pg-s3` (see the Makefile's
`test-pg`); a server started over a `pg-s3` store is a separate host with its own data folder,
so it reads every file through its read-through cache of the object store.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from opendata.settings import Settings
from opendata.store import objects
from opendata.store.catalog import engine_for

BACKENDS = ("sqlite", "pg-s3")
BACKEND = os.environ.get("CIVIC_TEST_BACKEND", "") or "sqlite"
#: The session's services on `pg-s3`: the PostgreSQL admin URL and the AWS_* variables.
_SERVICES: dict[str, Any] = {}


def remote() -> bool:
    """Whether this run's shared stores live on PostgreSQL + S3."""
    return BACKEND == "pg-s3"


def start(admin_url: str, aws_env: dict[str, str]) -> None:
    """Record the session's PostgreSQL cluster and S3 server (tests/conftest.py's fixture)."""
    _SERVICES.update(admin=admin_url, aws=dict(aws_env))


def store_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a new, empty shared store under `data_dir` on this run's back end."""
    if not remote():
        return Settings(data_dir=data_dir, **overrides)
    from tests import postgres, s3

    return Settings(
        data_dir=data_dir,
        catalog_url=postgres.fresh_database(_SERVICES["admin"]),
        store_url=s3.fresh_prefix(),
        **overrides,
    )


def host_env(settings: Settings, host_dir: Path) -> dict[str, str]:
    """The `CIVIC_*` (and `AWS_*`) variables a server process needs to serve `settings`' store;
    on object storage it runs as another host, with `host_dir` as its own data folder."""
    env = {"CIVIC_DATA_DIR": str(settings.data_dir), "CIVIC_CATALOG_URL": settings.catalog_url}
    if settings.store_is_remote:
        host_dir.mkdir(parents=True, exist_ok=True)
        env |= {"CIVIC_DATA_DIR": str(host_dir), "CIVIC_STORE_URL": settings.store_url}
        env |= _SERVICES.get("aws", {})
    return env


def copy_store(settings: Settings, data_dir: Path, **overrides: Any) -> Settings:
    """A private copy of a published store (its catalog, its objects and this host's folder),
    so what one test module publishes stays out of the others'."""
    shutil.copytree(settings.data_dir, data_dir)
    if not settings.store_is_remote:
        return Settings(data_dir=data_dir, **_carried(settings), **overrides)
    from tests import s3

    store_url = s3.fresh_prefix()
    _copy_objects(settings.store_url, store_url)
    return Settings(
        data_dir=data_dir,
        catalog_url=_copy_database(settings.catalog_url),
        store_url=store_url,
        **_carried(settings),
        **overrides,
    )


def _carried(settings: Settings) -> dict[str, Any]:
    return {"datasets_dir": settings.datasets_dir, "source_roots": settings.source_roots}


def _copy_database(url: str) -> str:
    """A new PostgreSQL database made from `url`'s as a template (the source must be idle, so
    this process's pooled connections are closed and any other session on it ended first)."""
    from tests import postgres

    engine_for(url).dispose()
    return postgres.fresh_database(_SERVICES["admin"], template=url.rsplit("/", 1)[1])


def _copy_objects(source_url: str, target_url: str) -> None:
    """Copy every object of one store prefix to another, server side (obstore's copy)."""
    import obstore

    bucket_url, source = source_url.rsplit("/", 1)
    target = target_url.rsplit("/", 1)[1]
    bucket = objects.s3_store(bucket_url)
    for batch in obstore.list(bucket, prefix=source + "/"):
        for meta in batch:
            key = meta["path"]
            obstore.copy(bucket, key, target + key.removeprefix(source))
