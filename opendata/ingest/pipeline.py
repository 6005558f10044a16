"""The ingestion pipeline: spec + source -> validated, privacy-checked, versioned GeoParquet.

Each step is a function that takes data and returns data; the only side effects are the run
record and report at the start and end, and `publish` at the very end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from opendata.errors import CivicError, InternalError, SourceError, SpecError, ValidationFailed
from opendata.ingest import columnar, privacy
from opendata.ingest.report import null_counts, reason_counts, render_text
from opendata.ingest.rules import Extent
from opendata.ingest.spec_model import DatasetSpec, Schema
from opendata.ingest.transforms import apply_transforms
from opendata.ingest.validate import validate
from opendata.readers import read_source
from opendata.settings import Settings
from opendata.store import _atomic
from opendata.store.catalog import Catalog, now
from opendata.store.publish import (
    FORMAT_VERSION,
    Outcome,
    Release,
    current_if_same,
    dataset_lock,
    publish,
)

log = logging.getLogger(__name__)


def code_version() -> str:
    try:
        return package_version("civic-platform")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


@dataclass(frozen=True)
class IngestResult:
    """What one `civic ingest` of one dataset did."""

    name: str
    status: str  # published | unchanged
    version: int
    rows: int
    report: dict[str, Any]


def check_source_path(path: Path, roots: tuple[Path, ...], *, written: str = "") -> Path:
    """Refuse source paths that escape the allowed folders (e.g. `../../etc/passwd`); the
    message shows the path as the spec writes it, never the server's folders."""
    shown = written or path.name
    try:
        resolved = path.resolve()
    except (OSError, ValueError, RuntimeError):  # NUL byte, symlink loop...
        raise SpecError(f"source.path: '{shown}' is not a usable file path") from None
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    raise SpecError(
        f"source.path: '{shown}' is outside the folders sources may be read from "
        "(CIVIC_SOURCE_ROOTS); move the file into the datasets folder"
    )


def content_hash(spec: DatasetSpec, source: Path, settings: Settings) -> str:
    """Hash of everything that determines the output: spec, source bytes, code, format and the
    city extent the data is checked against."""
    digest = hashlib.sha256()
    digest.update(json.dumps(spec.raw, sort_keys=True, default=str).encode())
    digest.update(f"|{FORMAT_VERSION}|{code_version()}|{_extent(spec, settings)}|".encode())
    try:
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise SourceError(
            f"{source.name}: cannot be read ({(err.strerror or 'input/output error').lower()})"
        ) from None
    return digest.hexdigest()


def _extent(spec: DatasetSpec, settings: Settings) -> Extent:
    """Where the dataset's features must lie: its own `schema.extent`, else the city's."""
    if spec.schema.extent is not None:
        return Extent(spec.schema.extent, "schema.extent")
    return Extent(settings.city_bbox, "CIVIC_CITY_BBOX")


def _published_schema(spec: DatasetSpec) -> Schema:
    """The schema minus columns the privacy decisions drop."""
    dropped = {c for c, d in spec.privacy.items() if d.action == "drop"}
    key = spec.schema.primary_key
    return replace(
        spec.schema,
        fields=tuple(f for f in spec.schema.fields if f.name not in dropped),
        primary_key=None if key in dropped else key,
    )


def _privacy_step(
    frame: gpd.GeoDataFrame, spec: DatasetSpec, settings: Settings
) -> tuple[gpd.GeoDataFrame, list]:
    """Scan the columns that would be published; block or apply the spec's decisions."""
    names = [f.name for f in spec.schema.fields if f.name in frame.columns]
    findings = privacy.scan(frame, columns=names)
    privacy.gate(findings, spec.privacy)
    frame = privacy.apply(frame, spec.privacy, key=settings.hash_key.encode())
    return frame, privacy.report(findings, spec.privacy)


def _write_run_report(
    settings: Settings,
    name: str,
    run_id: int,
    report: dict[str, Any],
    quarantine: pd.DataFrame | None,
) -> Path:
    folder = settings.data_dir / "runs" / name / str(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    if quarantine is not None and len(quarantine):
        tmp = folder / ".quarantine.parquet.tmp"
        quarantine.astype("string").to_parquet(tmp, index=False)
        tmp.rename(folder / "quarantine.parquet")
    _atomic.write_text_atomic(folder / "report.json", json.dumps(report, indent=2, default=str))
    _atomic.write_text_atomic(folder / "report.txt", render_text(report))
    return folder


def ingest(spec: DatasetSpec, settings: Settings) -> IngestResult:
    """Run one dataset's pipeline end to end; on failure raise a `CivicError` (an unexpected one
    as `InternalError`, the original logged) and publish nothing. One writer per dataset: a
    second ingest of the same dataset waits for the first."""
    try:
        with dataset_lock(settings, spec.name):
            Catalog(settings.catalog_url).mark_interrupted(spec.name)
            return _ingest(spec, settings)
    except CivicError as err:
        message = public_message(str(err), settings)
        if message == str(err):
            raise
        raise type(err)(message) from err
    except Exception as err:  # noqa: BLE001 - never a raw library message to the user
        log.debug("ingest of %s failed", spec.name, exc_info=True)
        raise InternalError(_unexpected(err)) from err


def _unexpected(err: Exception) -> str:
    return (
        f"unexpected error ({type(err).__name__}) while ingesting; nothing was published. "
        "This is a fault of the platform or its server, not of the data: run `civic --debug "
        "ingest` for the details and report them"
    )


def public_message(message: str, settings: Settings) -> str:
    """`message` without the server's folders (data, datasets, source roots), as a last guard:
    messages are written to name files by their spec path or name."""
    roots = {settings.data_dir, settings.store_dir, settings.datasets_dir, *settings.source_roots}
    for root in sorted((str(r) for r in roots if len(r.parts) > 1), key=len, reverse=True):
        message = message.replace(root + "/", "").replace(root, ".")
    return message


def _ingest(spec: DatasetSpec, settings: Settings) -> IngestResult:
    catalog = Catalog(settings.catalog_url)
    run_id = catalog.start_run(spec.name)
    report: dict[str, Any] = {
        "dataset": spec.name,
        "run_id": run_id,
        "started_at": now(),
        "source": spec.source.written or spec.source.path.name,
        "source_crs": spec.source.crs,
    }
    started = time.perf_counter()
    state = _RunState(report)
    try:
        source = check_source_path(
            spec.source.path, settings.source_roots, written=report["source"]
        )
        digest = content_hash(spec, source, settings) if source.is_file() else ""
        same = current_if_same(catalog, spec.name, digest) if digest else None
        if same is not None:
            catalog.finish_run(
                None,
                run_id,
                status="unchanged",
                version=same.version,
                message="source and spec unchanged; no new version",
            )
            return IngestResult(spec.name, "unchanged", same.version, same.rows, same.report)
        outcome = _run(spec, settings, source, digest, run_id, state)
    except Exception as err:
        report.update(
            status="failed",
            message=_failure_message(err, settings),
            duration_s=round(time.perf_counter() - started, 3),
        )
        folder = _write_run_report(settings, spec.name, run_id, report, state.quarantine)
        catalog.finish_run(
            None,
            run_id,
            status="failed",
            message=report["message"],
            report_dir=str(folder.relative_to(settings.data_dir)),
        )
        raise
    _write_run_report(settings, spec.name, run_id, report, None)
    return IngestResult(
        spec.name, outcome.status, outcome.version.version, outcome.version.rows, report
    )


def _failure_message(err: Exception, settings: Settings) -> str:
    if isinstance(err, CivicError):
        return public_message(str(err), settings)
    return _unexpected(err)


@dataclass
class _RunState:
    """What a run has found so far; its run report is written whether it succeeds or fails."""

    report: dict[str, Any]
    quarantine: pd.DataFrame | None = None


def _run(
    spec: DatasetSpec, settings: Settings, source: Path, digest: str, run_id: int, state: _RunState
) -> Outcome:
    """Read, check and publish: the columnar path when it can, else the general pipeline."""
    started, report = time.perf_counter(), state.report
    schema = _published_schema(spec)
    extent = _extent(spec, settings)
    try:
        if not settings.columnar:
            raise columnar.NeedsGeneral("turned off (CIVIC_COLUMNAR=0)")
        prepared = columnar.prepare(spec, schema, source, extent=extent)
        published = prepared.points
        report.update(prepared.report, pipeline="columnar")
    except columnar.NeedsGeneral as why:
        published, state.quarantine = _general(spec, schema, source, settings, report)
        report["pipeline"] = f"general: {why}"
    _check_threshold(report["rows_quarantined"], report["rows_in"], spec.max_reject_fraction)
    report.update(
        rows_published=len(published),
        nulls=null_counts(published),
        bbox=[round(float(v), 7) for v in published.total_bounds]
        if len(published) and schema.geometry != "none"
        else None,
        duration_s=round(time.perf_counter() - started, 3),
        status="published",
    )
    release = Release(
        name=spec.name,
        spec=spec.raw,
        columns=schema.describe(),
        content_hash=digest,
        source_crs=report["source_crs"],
        report=report,
        report_text=render_text(report),
        quarantine=state.quarantine,
        provenance={
            "spec_sha256": spec.fingerprint(),
            "source_file": source.name,
            "content_sha256": digest,
            "code_version": code_version(),
        },
    )
    return publish(settings, release, published, run_id=run_id, lock=False)


def _general(
    spec: DatasetSpec, schema: Schema, source: Path, settings: Settings, report: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The GeoDataFrame pipeline: any source, transforms, privacy decisions applied, every row
    judged by `validate`; returns the rows to publish (EPSG:4326) and the quarantine."""
    frame = read_source(
        source, spec.source.format, crs=spec.source.crs, options=spec.source.options
    )
    report["rows_in"] = len(frame)
    report["source_crs"] = frame.crs.to_string() if frame.crs else spec.source.crs
    frame = apply_transforms(frame, spec.transforms)
    report["rows_filtered"] = report["rows_in"] - len(frame)
    frame, report["privacy"] = _privacy_step(frame, spec, settings)
    options = spec.source.options
    checked = validate(
        frame,
        schema,
        decimal=str(options.get("decimal", ".")),
        extent=_extent(spec, settings),
        columns=(options["x"], options["y"]) if "x" in options and "y" in options else None,
    )
    report.update(
        rows_repaired=checked.repaired,
        rows_quarantined=len(checked.rejects),
        quarantine_reasons=reason_counts(checked.rejects),
        columns_not_published=checked.dropped_columns,
    )
    if schema.geometry == "none":
        return checked.valid, checked.rejects
    return checked.valid.to_crs("EPSG:4326"), checked.rejects


def _check_threshold(rejected: int, rows_in: int, allowed: float) -> None:
    if rows_in == 0:
        raise ValidationFailed("the source has no rows; nothing to publish")
    fraction = rejected / rows_in
    if fraction > allowed:
        raise ValidationFailed(
            f"{rejected} of {rows_in} rows ({fraction:.1%}) were rejected, "
            "more than the spec allows "
            f"(quality.max_reject_fraction = {allowed:g}); see the quarantine file and report"
        )
