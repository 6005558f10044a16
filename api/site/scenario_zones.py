"""The zones a scenario result talks about, for its after map: each traffic zone's mean car trip
time from the zone before and after (the `d_time_from` of the published zones dataset), as a
GeoJSON layer a reader can switch on, with popups in the page language and counts for the
legend."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.site.common import Site

#: A zone whose trip time changes by less than this share (percent) is drawn as unchanged, the
#: same rule the scenario's key indicators use (`scenario.SAME_PCT`).
SAME_PCT = 0.5
NEEDED = {"zone", "time_from_base", "time_from_scen", "geometry"}


@dataclass(frozen=True)
class ZoneLayer:
    """The zone layer: GeoJSON with `_d` (-1 shorter, 0 same, 1 longer), popup labels, counts."""

    geojson: dict[str, Any]
    labels: dict[str, dict[str, str]]
    longer: int
    shorter: int
    same: int


def _direction(before: float, after: float) -> int:
    """-1, 0 or 1: shorter, about the same (under SAME_PCT) or longer.

    >>> _direction(2.0, 2.5), _direction(2.0, 2.005), _direction(2.0, 1.5)
    (1, 0, -1)
    """
    if not (math.isfinite(before) and math.isfinite(after)) or before <= 0:
        return 0
    pct = (after - before) / before * 100
    return 0 if abs(pct) < SAME_PCT else (1 if pct > 0 else -1)


def zone_layer(zones: pd.DataFrame | None, site: Site) -> ZoneLayer | None:
    """The zones with a known trip time before and after (None when the result has none)."""
    if zones is None or not NEEDED <= set(zones.columns) or not len(zones):
        return None
    t, fmt = site.t, site.fmt
    unit = t("ind.trip_minutes.unit")
    features, counts = [], {-1: 0, 0: 0, 1: 0}
    for row in zones.itertuples():
        before, after = float(row.time_from_base), float(row.time_from_scen)
        if not (math.isfinite(before) and math.isfinite(after)):
            continue
        direction = _direction(before, after)
        counts[direction] += 1
        props = {
            "zone": str(row.zone),
            "before": f"{fmt.number(before)} {unit}",
            "after": f"{fmt.number(after)} {unit}",
            "change": f"{fmt.signed(after - before, 2)} {unit}",
            "_d": direction,
        }
        point = row.geometry.representative_point()
        geometry = {"type": "Point", "coordinates": [round(point.x, 6), round(point.y, 6)]}
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    if not features:
        return None
    names = {"zone": t("zones.zone"), "before": t("zones.before"), "after": t("zones.after"),
             "change": t("zones.change")}  # fmt: skip
    labels = {key: {"label": text} for key, text in names.items()}
    return ZoneLayer({"type": "FeatureCollection", "features": features}, labels,
                     counts[1], counts[-1], counts[0])  # fmt: skip
