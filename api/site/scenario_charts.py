"""The demand and time-of-day parts of a scenario page: trips by mode before and after (a table and
a bar chart), which demand assumption produced the numbers, delay through the morning (a line
chart with its table) and the per-period link layer the time slider draws. Charts are plain SVG
coordinates computed here; the template draws them with presentation attributes only (no script,
no inline style), and every chart has a table holding the same numbers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.site import scenario_data as sd
from api.site.common import Site
from opendata.errors import NotFound
from opendata.metadata.search import Entry
from opendata.settings import Settings
from twin.scenarios.cache import Memo

MODES = ("car", "pt", "bike", "walk")
CHART_W, CHART_H, PAD = 560.0, 220.0, 40.0
#: Links drawn on the time-slider map: a queue of at least this many metres in some period ...
MIN_QUEUE_M = 10.0
#: ... or at least this many vehicles per hour in some period.
MIN_FLOW = 150.0


@dataclass(frozen=True)
class ModeRow:
    """One mode before and after; `bar_before`/`bar_after` are bar lengths in chart units."""

    mode: str
    label: str
    before: float | None
    after: float | None
    change: float | None
    pct_change: float | None
    bar_before: float
    bar_after: float
    y: float


@dataclass(frozen=True)
class DemandPanel:
    """Which demand assumption produced the numbers, and person trips by mode."""

    model: str  #: "elastic", "fixed" or "" (results published before demand was modelled)
    assumption: str  #: the assumption in the page's language
    unit: str
    modes: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rows: list[ModeRow] = field(default_factory=list)
    chart_height: float = 0.0


@dataclass(frozen=True)
class MorningPanel:
    """Delay through the morning, before and after, and the per-period link layer."""

    periods: list[str]
    delay_base: list[float]
    delay_scen: list[float]
    points_base: str  #: SVG polyline points
    points_scen: str
    y_ticks: list[dict[str, Any]]
    x_ticks: list[dict[str, Any]]
    layer_url: str  #: the slider's link layer (`periods_layer`), fetched by the page's script
    busiest: int  #: the period with the most delay after the change (the slider starts there)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def demand_panel(
    totals: pd.DataFrame | None, provenance: dict[str, Any], site: Site
) -> DemandPanel:
    """Person trips by mode from the totals, and the demand assumption in plain language."""
    t = site.t
    unit = t("demand.unit")
    if totals is None or "metric" not in totals:
        return DemandPanel("", t("demand.unknown"), unit)
    rows = totals.set_index("metric")
    model = str(rows["demand"].iloc[0]) if "demand" in rows and len(rows) else ""
    params = provenance.get("demand", {}) if isinstance(provenance, dict) else {}
    if model == "elastic":
        assumption = t(
            "demand.elastic",
            sensitivity=_plain(params.get("sensitivity"), site),
            theta=_plain(params.get("theta"), site),
        )
    elif model == "fixed":
        assumption = t("demand.fixed")
    else:
        assumption = t("demand.unknown")
    modes = {}
    for mode in MODES:
        if f"trips_{mode}" in rows.index:
            r = rows.loc[f"trips_{mode}"]
            modes[mode] = {k: _number(r.get(k)) for k in ("base", "scen", "change", "pct_change")}
    top = max([v for m in modes.values() for v in (m["base"], m["scen"]) if v] or [1.0])
    out = []
    for i, (mode, m) in enumerate(modes.items()):
        scale = lambda v: 0.0 if v is None else round(v / top * (CHART_W - 160), 1)  # noqa: E731
        out.append(
            ModeRow(mode, t(f"demand.mode.{mode}"), m["base"], m["scen"], m["change"],
                    m["pct_change"], scale(m["base"]), scale(m["scen"]), 10.0 + 44.0 * i)
        )  # fmt: skip
    return DemandPanel(model, assumption, unit, modes, out, 20.0 + 44.0 * len(out))


def _plain(value: Any, site: Site) -> str:
    """A model parameter as the locale writes a number ('?' when unknown)."""
    return site.fmt.short(float(value)) if isinstance(value, int | float) else "?"


def _points(values: list[float], top: float) -> str:
    n = max(len(values) - 1, 1)
    x = [PAD + i * (CHART_W - 2 * PAD) / n for i in range(len(values))]
    y = [CHART_H - PAD - v / top * (CHART_H - 2 * PAD) for v in values]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))


def _nice(top: float) -> float:
    """A round axis maximum at or above `top`."""
    if top <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(top))
    return next(m * step for m in (1, 2, 2.5, 5, 10) if m * step >= top)


def periods_layer(periods: pd.DataFrame) -> dict[str, Any]:
    """Links that queue or carry traffic in some period, with per-period values: GeoJSON whose
    properties `_fb/_fs` are flows and `_qb/_qs` queues per period, before and after. Built
    column-wise (one pass over the sorted rows, not a group loop): about 20 ms for the bundled
    city's 830 links x 16 periods instead of 0.8 s, so it is cheap even on a cache miss."""
    rows = periods.sort_values(["link", "period"], kind="stable")
    links = rows["link"].to_numpy()
    starts = np.flatnonzero(np.r_[True, links[1:] != links[:-1]])
    bounds = np.r_[starts, len(rows)]
    columns = {
        key: rows[col].to_numpy(dtype=float)
        for key, col in (("_fb", "flow_base"), ("_fs", "flow_scen"),
                         ("_qb", "queue_base"), ("_qs", "queue_scen"))
    }  # fmt: skip
    peak_queue = np.maximum.reduceat(np.maximum(columns["_qb"], columns["_qs"]), starts)
    peak_flow = np.maximum.reduceat(np.maximum(columns["_fb"], columns["_fs"]), starts)
    keep = np.flatnonzero((peak_queue >= MIN_QUEUE_M) | (peak_flow >= MIN_FLOW))
    geoms = shapely.set_precision(rows.geometry.to_numpy()[starts[keep]], 1e-5, mode="pointwise")
    rounded = {key: np.round(values).tolist() for key, values in columns.items()}
    features = []
    for geom, i in zip(geoms, keep, strict=True):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        props: dict[str, Any] = {key: values[lo:hi] for key, values in rounded.items()}
        props["_link"] = int(links[lo])
        features.append(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}


def morning_panel(
    periods: pd.DataFrame | None, provenance: dict[str, Any], site: Site, layer_url: str
) -> MorningPanel | None:
    """The morning through time (None when the scenario was not simulated through time); the
    slider's link layer is not in the page (about 0.5 MB) but at `layer_url`."""
    morning = provenance.get("morning") if isinstance(provenance, dict) else None
    if periods is None or not len(periods) or not morning or not morning.get("simulated"):
        return None
    base = [float(v) for v in morning["delay_hours"]["base"]]
    scen = [float(v) for v in morning["delay_hours"]["scen"]]
    top = _nice(max(base + scen + [0.0]))
    labels = list(morning["periods"])
    n = max(len(labels) - 1, 1)
    y_ticks = [
        {"y": round(CHART_H - PAD - f * (CHART_H - 2 * PAD), 1), "label": site.fmt.short(top * f)}
        for f in (0.0, 0.5, 1.0)
    ]
    x_ticks = [
        {"x": round(PAD + i * (CHART_W - 2 * PAD) / n, 1), "label": label}
        for i, label in enumerate(labels)
        if i % 4 == 0
    ]
    return MorningPanel(
        periods=labels,
        delay_base=base,
        delay_scen=scen,
        points_base=_points(base, top),
        points_scen=_points(scen, top),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        layer_url=layer_url,
        busiest=int(np.argmax(scen)) if scen else 0,
    )


#: Serialised slider layers by the content hash of their (immutable) periods version.
_PERIODS = Memo(8)


def periods_geojson(settings: Settings, items: Sequence[Entry], name: str) -> tuple[str, str]:
    """A published scenario's morning-peak link layer as GeoJSON text, with the content hash of
    the version it comes from (NotFound when the scenario, or its simulation through the
    morning, does not exist). Only the periods part is read, not the page's joined parts."""
    timed = sd.parts_of(items, name).get("periods")
    if timed is None:
        raise NotFound(f"the scenario '{name[:80]}' was not simulated through the morning")

    def build() -> str:
        periods = sd.read_part(settings, timed)
        if not len(periods):
            raise NotFound(f"the scenario '{name[:80]}' was not simulated through the morning")
        return json.dumps(periods_layer(periods), separators=(",", ":"))

    key = timed.version.content_hash
    return key, _PERIODS.get(key, build)
