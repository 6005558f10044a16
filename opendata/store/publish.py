"""Publishing: the one path by which any frame (an ingested dataset or a twin result) becomes an
immutable, versioned GeoParquet release in the store and the catalog.

Order matters for crash safety: files are written to a hidden staging folder and fsynced, the
folder is renamed into place, and only then is the catalog row committed. A run killed at any
point leaves the previous version current and no partial version visible.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from opendata.settings import Settings
from opendata.store import _atomic, locks, objects
from opendata.store.catalog import Catalog, Version, engine_for, now
from opendata.store.geoparquet import PointTable, write_geoparquet, write_points, write_table

#: Bumped when the published file layout changes, so old content hashes no longer match.
FORMAT_VERSION = "1"


def checkpoint(settings: Settings, stage: str) -> None:
    """Fault-injection point for the crash tests: with `CIVIC_PAUSE_AT=<stage>` the process
    announces the stage on stderr and waits there to be killed."""
    if settings.pause_at == stage:
        print(f"PAUSED {stage}", file=sys.stderr, flush=True)
        time.sleep(3600)


@dataclass(frozen=True)
class Release:
    """Everything about a release except its rows."""

    name: str
    spec: dict[str, Any]
    columns: list[dict[str, Any]]
    content_hash: str
    source_crs: str | None
    provenance: dict[str, Any]
    report: dict[str, Any]
    kind: str = "dataset"
    quarantine: pd.DataFrame | None = field(default=None, compare=False)
    #: The report as a person reads it (written beside `report.json` when given).
    report_text: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a publish did: `published` a new version or found it `unchanged`."""

    status: str
    version: Version


def dataset_dir(settings: Settings, name: str) -> Path:
    return settings.store_dir / "datasets" / name


@contextmanager
def dataset_lock(settings: Settings, name: str) -> Iterator[None]:
    """One writer per dataset at a time (other processes wait): a PostgreSQL advisory lock when
    the catalog is shared between hosts, a file lock for the single-machine SQLite catalog."""
    engine = engine_for(settings.catalog_url)
    if engine.dialect.name == "postgresql":
        with locks.advisory_lock(engine, name):
            yield
    else:
        with locks.file_lock(dataset_dir(settings, name)):
            yield


def current_if_same(catalog: Catalog, name: str, content_hash: str) -> Version | None:
    """The current version when it was built from exactly this content, else None."""
    try:
        current = catalog.version(name)
    except Exception:  # noqa: BLE001 - no dataset or no version yet
        return None
    return current if current.content_hash == content_hash else None


def _bbox(frame: gpd.GeoDataFrame | PointTable) -> list[float] | None:
    if isinstance(frame, PointTable):
        return [round(float(v), 7) for v in frame.total_bounds] if len(frame) else None
    if (
        not isinstance(frame, gpd.GeoDataFrame)
        or frame.geometry.name not in frame
        or not len(frame)
    ):
        return None
    return [round(float(v), 7) for v in frame.total_bounds]


def _write_files(
    settings: Settings, staging: Path, frame: pd.DataFrame | PointTable, release: Release
) -> tuple[int, list | None]:
    name = release.name
    data_path = staging / f"{name}.parquet"
    if isinstance(frame, PointTable):
        write_points(frame, data_path)
    elif isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        write_geoparquet(frame, data_path)
    else:
        write_table(frame, data_path)
    checkpoint(settings, "after_data")
    if release.quarantine is not None and len(release.quarantine):
        release.quarantine.astype(
            {c: "string" for c in release.quarantine.columns if c not in ("source_row",)},
            errors="ignore",
        ).to_parquet(staging / "quarantine.parquet", index=False)
    report = dict(release.report)
    (staging / "report.json").write_text(
        json.dumps(report, indent=2, default=str), encoding="utf-8"
    )
    if release.report_text:
        (staging / "report.txt").write_text(release.report_text, encoding="utf-8")
    return data_path.stat().st_size, _bbox(frame)


def publish(
    settings: Settings,
    release: Release,
    frame: pd.DataFrame | PointTable,
    *,
    run_id: int | None = None,
    lock: bool = True,
) -> Outcome:
    """Publish `frame` (EPSG:4326) as a new version unless identical content is already current.
    `lock=False` when the caller already holds `dataset_lock` for this dataset."""
    catalog = Catalog(settings.catalog_url)
    folder = dataset_dir(settings, release.name)
    with dataset_lock(settings, release.name) if lock else nullcontext():
        same = current_if_same(catalog, release.name, release.content_hash)
        if same is not None:
            return Outcome("unchanged", same)
        _atomic.remove_stale_staging(folder)
        staging = _atomic.temp_dir(folder)
        size, bbox = _write_files(settings, staging, frame, release)
        checkpoint(settings, "before_rename")
        with catalog.begin() as conn:
            number = catalog.next_version(conn, release.name)
        final = folder / f"v{number}"
        if settings.store_is_remote:  # objects first; the local folder becomes this host's cache
            prefix = str(final.relative_to(settings.store_dir))
            objects.upload_dir(settings.store_url, staging, prefix)
            checkpoint(settings, "after_upload")
        _atomic.commit_dir(staging, final)
        checkpoint(settings, "before_commit")
        version = Version(
            dataset=release.name,
            version=number,
            content_hash=release.content_hash,
            path=str(final.relative_to(settings.store_dir) / f"{release.name}.parquet"),
            rows=len(frame),
            bbox=bbox,
            source_crs=release.source_crs,
            columns=release.columns,
            report=release.report,
            provenance=release.provenance,
            size_bytes=size,
            created_at=now(),
        )
        with catalog.begin() as conn:
            catalog.register(conn, version, spec=release.spec, kind=release.kind)
            if run_id is not None:
                catalog.finish_run(
                    conn,
                    run_id,
                    status="published",
                    version=number,
                    report_dir=str(final.relative_to(settings.store_dir)),
                )
        checkpoint(settings, "after_commit")
        return Outcome("published", version)


def version_path(settings: Settings, version: Version) -> Path:
    """Absolute local path of a version's GeoParquet file (on object storage: this host's
    cached copy, downloaded on first use)."""
    if settings.store_is_remote:
        return objects.cached(settings.store_url, settings.data_dir, version.path)
    return settings.store_dir / version.path
