"""Publishing frames the platform computes itself (scenario results) through the same checks and
the same store path as an ingested dataset."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import geopandas as gpd
import pandas as pd

from opendata.ingest.report import render_text
from opendata.ingest.specs import inherit, parse_spec
from opendata.settings import Settings
from opendata.store.catalog import now
from opendata.store.publish import FORMAT_VERSION, Outcome, Release, publish


def publish_frame(
    settings: Settings,
    *,
    name: str,
    metadata: dict[str, Any],
    fields: list[dict[str, Any]],
    frame: gpd.GeoDataFrame,
    provenance: dict[str, Any],
    kind: str = "dataset",
) -> Outcome:
    """Publish a frame computed by the platform itself (e.g. scenario results) through the same
    path as an ingested dataset: metadata and schema are checked like a spec, the content hash
    covers rows + metadata + provenance, so rerunning with identical output adds no version."""
    spec = {
        "name": name,
        "metadata": inherit({"metadata": metadata}, settings.city)["metadata"],
        "source": {"path": f"{name}.parquet", "format": "parquet"},
        "schema": {"fields": fields, "geometry": "any"},
    }
    checked = parse_spec(spec, name=name, base=settings.data_dir)
    frame = frame.to_crs("EPSG:4326")
    missing = [f.name for f in checked.schema.fields if f.name not in frame.columns]
    if missing:
        raise ValueError(f"publish_frame: columns {missing} are declared but not in the frame")
    digest = _frame_hash(frame, spec, provenance)
    columns = checked.schema.describe()
    report = {
        "dataset": name,
        "status": "published",
        "rows_in": len(frame),
        "rows_published": len(frame),
        "rows_quarantined": 0,
        "started_at": now(),
        "source_crs": "EPSG:4326",
        "bbox": [round(float(v), 7) for v in frame.total_bounds] if len(frame) else None,
    }
    release = Release(
        name=name,
        spec=spec,
        columns=columns,
        content_hash=digest,
        source_crs="EPSG:4326",
        provenance=provenance,
        report=report,
        kind=kind,
        report_text=render_text(report),
    )
    keep = [f.name for f in checked.schema.fields] + [frame.geometry.name]
    return publish(settings, release, frame[keep])


def _frame_hash(frame: gpd.GeoDataFrame, spec: dict[str, Any], provenance: dict[str, Any]) -> str:
    digest = hashlib.sha256(
        json.dumps([spec, provenance, FORMAT_VERSION], sort_keys=True, default=str).encode()
    )
    digest.update(
        pd.util.hash_pandas_object(frame.drop(columns=frame.geometry.name), index=False)
        .to_numpy()
        .tobytes()
    )
    digest.update(b"".join(frame.geometry.to_wkb()))
    return digest.hexdigest()
