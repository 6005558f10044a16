"""The basemap's vector tiles on object storage: one host builds them (opendata/store/tiles.py),
uploads the archives under `tiles/<key>/` (the key of the source versions, so the objects are
immutable) and then the record `tiles/basemap.json` naming that key, the single write that makes
the new tiles current. Every other host reads the record and fetches the archives once through
its read-through cache, instead of rebuilding them.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from opendata.settings import Settings
from opendata.store import objects
from opendata.store.publish import dataset_lock

PREFIX = "tiles"
#: The publication lock's name for the tiles (not a dataset name: those cannot start with ".").
LOCK = ".basemap-tiles"
RECORD = f"{PREFIX}/basemap.json"
#: How long a host trusts the record it read before asking the store again (a rebuilt basemap
#: reaches every host within this time; tile URLs are not versioned anyway, see api/ogc/tiles).
RECORD_TTL_S = 10.0
_RECORDS: dict[str, tuple[float, dict[str, Any] | None]] = {}
_LOCK = threading.Lock()


def upload(settings: Settings, folder: Path, record: dict[str, Any]) -> None:
    """Put a built basemap folder under `tiles/<key>/`, then the record that makes it current
    (under the tiles' lock, so `orphans --delete` never removes an upload in progress)."""
    key = str(record["key"])
    with dataset_lock(settings, LOCK):
        objects.upload_dir(settings.store_url, folder, f"{PREFIX}/{key}")
        objects.put_bytes(settings.store_url, RECORD, json.dumps(record).encode("utf-8"))
    with _LOCK:
        _RECORDS[settings.store_url] = (time.monotonic() + RECORD_TTL_S, record)


def current_record(settings: Settings, *, fresh: bool = False) -> dict[str, Any] | None:
    """The store's current basemap record (None before the first build), re-read at most every
    `RECORD_TTL_S` seconds (`fresh`: now)."""
    with _LOCK:
        expires, record = _RECORDS.get(settings.store_url, (0.0, None))
    if time.monotonic() < expires and not fresh:
        return record
    raw = objects.get_bytes(settings.store_url, RECORD)
    record = json.loads(raw) if raw is not None else None
    with _LOCK:
        _RECORDS[settings.store_url] = (time.monotonic() + RECORD_TTL_S, record)
    return record


def fetch(settings: Settings, record: dict[str, Any], files: list[str]) -> Path:
    """This host's local folder of the record's archives, each downloaded once (atomically)."""
    key = f"{PREFIX}/{record['key']}"
    for name in files:
        objects.cached(settings.store_url, settings.data_dir, f"{key}/{name}")
    return settings.data_dir / objects.CACHE / key


def orphan_prefixes(settings: Settings, *, delete: bool = False) -> list[str]:
    """`tiles/<key>` prefixes the current record does not name (superseded, or left by a build
    killed between its upload and its record); with `delete`, removed under the tiles' lock."""
    with dataset_lock(settings, LOCK):
        record = current_record(settings, fresh=True)
        keep = f"{PREFIX}/{record['key']}" if record else None
        found = [p for p in objects.prefixes(settings.store_url, PREFIX, depth=2) if p != keep]
        for prefix in found if delete else []:
            objects.delete_prefix(settings.store_url, prefix)
    return found
