"""Where published versions live: a local folder (the default) or S3-compatible object storage
(`CIVIC_STORE_URL=s3://bucket/prefix`, configured by the standard `AWS_*` variables, through
obstore: no hand-written request signing).

On object storage a version is written under its own prefix (`datasets/<name>/v<n>/...`) before
the catalog commit makes it current, so a killed publish leaves only objects no catalog row
names: `orphans` lists them, the next publish of that number overwrites them. Readers get a
local path: each host keeps a read-through cache of the immutable version files under
`<data_dir>/store-cache/` (filled once per file, atomically), so DuckDB, GeoPandas and HTTP
Range/ETag downloads work on it exactly as on a local store.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from opendata.errors import NotFound, SettingsError

CACHE = "store-cache"


def is_remote(store_url: str) -> bool:
    """Whether the store is object storage rather than a folder."""
    return store_url.startswith("s3://")


def _obstore() -> Any:
    """obstore, installed by the `s3` extra (the single-machine default does without it)."""
    try:
        import obstore
    except ModuleNotFoundError:
        raise SettingsError(
            "CIVIC_STORE_URL names object storage: install the `s3` extra (obstore)"
        ) from None
    return obstore


def s3_store(store_url: str) -> Any:
    """An obstore S3 client for `s3://bucket/prefix`, from the standard AWS variables."""
    store_module = _obstore().store
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    options: dict[str, Any] = {"allow_http": True} if endpoint.startswith("http://") else {}
    config = {"endpoint": endpoint} if endpoint else {}
    return store_module.S3Store.from_url(store_url, config=config, client_options=options)


_STORES: dict[str, Any] = {}


def _store(store_url: str) -> Any:
    if store_url not in _STORES:
        _STORES[store_url] = s3_store(store_url)
    return _STORES[store_url]


def upload_dir(store_url: str, folder: Path, prefix: str) -> None:
    """Put every file of a local (staged, complete) folder under `prefix`, replacing what a
    killed earlier attempt may have left there."""
    store = _store(store_url)
    stale = [
        meta["path"] for batch in _obstore().list(store, prefix=prefix + "/") for meta in batch
    ]
    if stale:
        _obstore().delete(store, stale)
    for item in sorted(folder.iterdir()):
        if item.is_file():
            _obstore().put(store, f"{prefix}/{item.name}", item)


def cached(store_url: str, data_dir: Path, key: str) -> Path:
    """A local copy of an immutable object (downloaded once, written under a temporary name and
    renamed, so a reader never sees half a file)."""
    path = data_dir / CACHE / key
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        result = _obstore().get(_store(store_url), key)
    except FileNotFoundError as err:
        raise NotFound(f"the stored file {key} is not available") from err
    with open(tmp, "wb") as out:
        for chunk in result.stream():
            out.write(chunk)
    os.replace(tmp, path)
    return path


def version_prefixes(store_url: str) -> list[str]:
    """Every `datasets/<name>/v<n>` prefix present in the object store."""
    store = _store(store_url)
    found = set()
    for batch in _obstore().list(store, prefix="datasets/"):
        for meta in batch:
            parts = meta["path"].split("/")
            if len(parts) >= 4 and parts[2].startswith("v"):
                found.add("/".join(parts[:3]))
    return sorted(found)


def delete_prefix(store_url: str, prefix: str) -> int:
    """Remove every object under `prefix`; returns how many."""
    store = _store(store_url)
    paths = [
        meta["path"] for batch in _obstore().list(store, prefix=prefix + "/") for meta in batch
    ]
    if paths:
        _obstore().delete(store, paths)
    return len(paths)


def reachable(store_url: str) -> None:
    """Raise unless the object store answers: one listing of the store's top level (the local
    cache says nothing about it; a fresh host has none)."""
    _obstore().list_with_delimiter(_store(store_url))


def put_bytes(store_url: str, key: str, data: bytes) -> None:
    """Write one small object (a single PUT: readers see the old or the new bytes, never half)."""
    _obstore().put(_store(store_url), key, data)


def get_bytes(store_url: str, key: str) -> bytes | None:
    """One small object's bytes, or None when there is no such object."""
    try:
        return bytes(_obstore().get(_store(store_url), key).bytes())
    except FileNotFoundError:
        return None


def prefixes(store_url: str, top: str, *, depth: int) -> list[str]:
    """The distinct `depth`-part prefixes of the objects under `top` (e.g. `tiles/<key>`)."""
    found = set()
    for batch in _obstore().list(_store(store_url), prefix=top + "/"):
        for meta in batch:
            parts = meta["path"].split("/")
            if len(parts) > depth:
                found.add("/".join(parts[:depth]))
    return sorted(found)


def presigned_url(store_url: str, key: str, *, seconds: int) -> str:
    """A URL that lets anyone GET one object for `seconds` (obstore's SigV4 signing, no
    credentials in it): a client that follows it gets Range and ETag from the S3 server."""
    return str(_obstore().sign(_store(store_url), "GET", key, timedelta(seconds=seconds)))
