"""Quality reports: JSON for machines, a short readable summary for people."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from opendata.store.geoparquet import PointTable


def null_counts(frame: pd.DataFrame | PointTable) -> dict[str, int]:
    """Nulls per published column (geometry included)."""
    if isinstance(frame, PointTable):
        props = frame.properties
        return {n: props.column(n).null_count for n in props.column_names} | {"geometry": 0}
    return {str(c): int(frame[c].isna().sum()) for c in frame.columns}


def reason_counts(quarantine: pd.DataFrame | None, top: int = 20) -> dict[str, int]:
    """The most common quarantine reasons, with the row-specific value stripped."""
    if quarantine is None or not len(quarantine):
        return {}
    general = (
        quarantine["reason"]
        .astype(str)
        .str.replace(r": '.*'$", "", regex=True)  # the offending value
        .str.replace(r"^(node|way|relation)/\d+: ", "", regex=True)  # the element id
        .str.replace(r"\s*\((way_id|node_id)=\d+\)", "", regex=True)
    )
    return dict(Counter(general).most_common(top))


def render_text(report: dict[str, Any]) -> str:
    """A summary a data clerk can read in ten seconds."""
    lines = [
        f"Dataset:      {report.get('dataset')}",
        f"Status:       {report.get('status')}",
        f"Started:      {report.get('started_at')}   duration {report.get('duration_s', 0):.2f} s",
        f"Rows in:      {report.get('rows_in', 0)}",
        f"Published:    {report.get('rows_published', 0)}",
        f"Repaired:     {report.get('rows_repaired', 0)} invalid geometries fixed with make_valid",
        f"Quarantined:  {report.get('rows_quarantined', 0)}",
        f"Filtered:     {report.get('rows_filtered', 0)} (by declared transforms)",
        f"Source CRS:   {report.get('source_crs')}   published as EPSG:4326",
        f"BBox (4326):  {report.get('bbox')}",
    ]
    if report.get("pipeline"):
        lines.append(f"Pipeline:     {report['pipeline']}")
    if report.get("message"):
        lines.append(f"Message:      {report['message']}")
    if report.get("quarantine_reasons"):
        lines.append("Quarantine reasons:")
        lines += [f"  {n:>8}  {reason}" for reason, n in report["quarantine_reasons"].items()]
    if report.get("privacy"):
        lines.append("Personal data checks:")
        lines += [
            f"  {p['column']}: {p['detector']} x{p['count']} -> {p.get('action') or 'BLOCKED'}"
            for p in report["privacy"]
        ]
    nulls = {k: v for k, v in (report.get("nulls") or {}).items() if v}
    if nulls:
        lines.append("Nulls per column: " + ", ".join(f"{k}={v}" for k, v in nulls.items()))
    return "\n".join(lines) + "\n"
