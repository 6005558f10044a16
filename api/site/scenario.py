"""Context of a scenario page: what the scenario changed, in plain language and on maps before and
after, its key indicators explained for a non-expert, and what changes near an address or a
point clicked on the map. Built on the datasets `twin.scenarios.run` publishes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from babel.numbers import format_scientific

from api.site import scenario_data as sd
from api.site.catalog import scenario_description, scenario_title
from api.site.common import Site
from api.site.legend import WidthStep, width_key
from api.site.scenario_charts import DemandPanel, MorningPanel, demand_panel, morning_panel
from api.site.scenario_zones import ZoneLayer, zone_layer
from opendata.metadata.search import Entry
from opendata.settings import Settings

#: Key indicators: (metric in the totals table, theme, True when a rise is good).
KEY_METRICS = (
    ("vehicle_hours", "travel", False),
    ("delay_vehicle_hours", "travel", False),
    ("mean_speed", "travel", True),
    ("residents_lden_55_plus", "noise", False),
    ("co2", "co2", False),
    ("walk_school_10min", "access", True),
    ("walk_health_10min", "access", True),
    ("walk_grocery_10min", "access", True),
)
#: Relative changes below this are reported as "no real change" (model noise).
SAME_PCT = 0.5
MAX_ROWS = 12


@dataclass(frozen=True)
class Indicator:
    """One key indicator, before and after, with a plain-language reading."""

    key: str
    theme: str
    label: str
    explanation: str
    unit: str
    before: float | None
    after: float | None
    change: float | None
    pct_change: float | None
    verdict: str  #: "better", "worse" or "same"
    summary: str
    demand: str = ""  #: the demand assumption behind the number: elastic, fixed or ''


@dataclass(frozen=True)
class Edit:
    """What the scenario did, e.g. closed 37 road links on Mannerheimintie."""

    kind: str
    text: str
    links: int
    streets: list[str]


@dataclass(frozen=True)
class StreetChange:
    street: str
    before: float
    after: float
    change: float
    edit: str


@dataclass(frozen=True)
class NearLink:
    street: str
    edit: str
    before: float
    after: float
    change: float
    distance_m: float


@dataclass(frozen=True)
class NearBuilding:
    address: str
    before: float | None
    after: float | None
    change: float | None
    distance_m: float


@dataclass(frozen=True)
class Nearby:
    """Changes near an address or a clicked point."""

    query: str
    found: str  #: the matched address ('' for a clicked point)
    lon: float | None
    lat: float | None
    radius_m: float
    message: str
    links: list[NearLink]
    buildings: list[NearBuilding]


@dataclass(frozen=True)
class ScenarioPage:
    """The scenario page (its JSON twin carries the same fields)."""

    name: str
    title: str
    title_lang: str
    description: str
    description_lang: str
    edits: list[Edit]
    indicators: list[Indicator]
    streets: list[StreetChange]  #: largest traffic changes (the maps' text alternative)
    changes: dict[str, Any]  #: changed links as GeoJSON (drawn before / after)
    width_key: list[WidthStep]  #: flows and the line widths that draw them (the maps' key)
    zones: ZoneLayer | None  #: trip time from each zone before and after (a layer to switch on)
    bbox: list[float] | None
    datasets: list[dict[str, str]]
    addresses: list[str]
    nearby: Nearby | None
    gap_note: str
    demand: DemandPanel  #: the demand assumption and person trips by mode (`demand.modes`)
    morning: MorningPanel | None  #: delay through the morning and the per-period link layer
    noise_note: str  #: changes below this share are convergence noise
    limits: str  #: what the model does not do


def _verdict(change: float | None, pct: float | None, rise_is_good: bool) -> str:
    if change is None or change == 0 or (pct is not None and abs(pct) < SAME_PCT):
        return "same"
    return "better" if (change > 0) == rise_is_good else "worse"


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def indicators(
    totals: pd.DataFrame | None, zones: pd.DataFrame | None, site: Site
) -> list[Indicator]:
    """The key indicators present in a scenario's totals, explained."""
    t, out = site.t, []
    columns = ["unit", "base", "scen", "change", "pct_change"]
    rows = pd.DataFrame(columns=columns)
    if totals is not None and "metric" in totals:
        rows = totals.set_index("metric").reindex(columns=[*columns, "demand"])
    model = str(rows["demand"].iloc[0]) if "demand" in rows and len(rows) else ""
    trip = sd.weighted_trip_minutes(zones)
    if trip is not None:
        before, after = trip
        pct = (after - before) / before * 100 if before else None
        extra = pd.DataFrame([["min", before, after, after - before, pct]], columns=columns)
        rows = pd.concat([rows.astype(object), extra.set_axis(["trip_minutes"]).astype(object)])
    for key, theme, rise_good in (("trip_minutes", "travel", False), *KEY_METRICS):
        if key not in rows.index:
            continue
        r = rows.loc[key]
        before, after = _number(r["base"]), _number(r["scen"])
        change, pct = _number(r["change"]), _number(r.get("pct_change"))
        verdict = _verdict(change, pct, rise_good)
        fmt = site.fmt
        values = {"before": fmt.number(before), "after": fmt.number(after)}
        values["unit"] = t(f"ind.{key}.unit")
        summary = t(f"verdict.{verdict}", **values, pct=fmt.number(abs(pct or 0), 1))
        out.append(
            Indicator(key, theme, t(f"ind.{key}.label"), t(f"ind.{key}.explain"), values["unit"],
                      before, after, change, pct, verdict, summary, model)
        )  # fmt: skip
    return out


def edits(links: gpd.GeoDataFrame | None, site: Site) -> list[Edit]:
    """The scenario's edits in plain language, from the links' `edit` column."""
    if links is None or "edit" not in links:
        return []
    out = []
    edited = links[links["edit"].fillna("") != ""]
    for kind, group in edited.groupby("edit", sort=True):
        streets = [s for s in dict.fromkeys(group.get("street", pd.Series(dtype=str))) if s][:6]
        names = ", ".join(streets) or site.t("scenario.unnamed")
        text = site.t(f"edit.{kind}", streets=names, n=len(group))
        out.append(Edit(str(kind), text, len(group), streets))
    return out


def street_changes(links: gpd.GeoDataFrame | None, limit: int = MAX_ROWS) -> list[StreetChange]:
    """Per street, its link with the largest flow change; the largest changes first."""
    if links is None or not len(links):
        return []
    changed = sd.changed_links(links).assign(size=lambda f: f["d_flow"].abs())
    changed = changed[changed["street"] != ""].sort_values("size", ascending=False)
    top = changed.drop_duplicates("street").head(limit)
    return [
        StreetChange(r.street, round(r.flow_base), round(r.flow_scen), round(r.d_flow), r.edit)
        for r in top.itertuples()
    ]


def changes_geojson(links: gpd.GeoDataFrame | None, site: Site) -> dict[str, Any]:
    """Changed links as GeoJSON for the before/after maps; `_`-keys style them, others pop up."""
    if links is None or not len(links):
        return {"type": "FeatureCollection", "features": []}
    changed = sd.changed_links(links)
    top = float(max(links["flow_base"].max(), links["flow_scen"].max()))
    wb, wa = sd.line_weight(changed["flow_base"], top), sd.line_weight(changed["flow_scen"], top)
    geoms = shapely.set_precision(changed.geometry.values, 1e-5, mode="pointwise")
    t = site.t
    features = []
    for row, g, b, a in zip(changed.itertuples(), shapely.to_geojson(geoms), wb, wa, strict=True):
        props = {
            t("scenario.col.street"): row.street or t("scenario.unnamed"),
            t("scenario.col.before"): round(row.flow_base),
            t("scenario.col.after"): round(row.flow_scen),
            t("scenario.col.change"): round(row.d_flow),
            "_edit": row.edit,
            "_d": round(row.d_flow),
            "_wb": float(b),
            "_wa": float(a),
        }
        if row.edit:
            props[t("scenario.col.edit")] = t(f"edit.label.{row.edit}")
        features.append({"type": "Feature", "geometry": json.loads(g), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def nearby(data: sd.ScenarioData, args: Mapping[str, str], site: Site) -> Nearby | None:
    """Changes near `?address=` or `?lat=&lon=` (None when neither was asked)."""
    query = (args.get("address") or "").strip()[:120]
    lat, lon = args.get("lat"), args.get("lon")
    if not query and not (lat and lon):
        return None
    t, found, point = site.t, "", None
    if query:
        hit = sd.find_address(data.buildings, query) if data.buildings is not None else None
        if hit is None:
            return Nearby(
                query, "", None, None, sd.NEAR_RADIUS_M, t("near.no_match", q=query), [], []
            )
        found, point = hit[0], (hit[1], hit[2])
    else:
        point = (_coordinate(lon, -180, 180, "lon"), _coordinate(lat, -90, 90, "lat"))
    links = (
        sd.near(sd.changed_links(data.links), *point, data.metric_crs)
        if data.links is not None
        else None
    )
    homes = sd.near(data.buildings, *point, data.metric_crs) if data.buildings is not None else None
    return Nearby(
        query, found, round(point[0], 6), round(point[1], 6), sd.NEAR_RADIUS_M,
        t("near.radius", m=int(sd.NEAR_RADIUS_M)), _near_links(links), _near_buildings(homes),
    )  # fmt: skip


def _coordinate(raw: str, low: float, high: float, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


def _near_links(frame: gpd.GeoDataFrame | None) -> list[NearLink]:
    if frame is None or not len(frame):
        return []
    return [
        NearLink(r.street, r.edit, round(r.flow_base), round(r.flow_scen), round(r.d_flow),
                 float(r.distance_m))
        for r in frame.drop_duplicates(["street", "edit"]).head(MAX_ROWS).itertuples()
    ]  # fmt: skip


def _near_buildings(frame: gpd.GeoDataFrame | None) -> list[NearBuilding]:
    if frame is None or not len(frame) or "d_lden" not in frame:
        return []
    noticed = frame[frame["d_lden"].abs() >= sd.MIN_NOISE_CHANGE].head(MAX_ROWS)
    return [
        NearBuilding(r.address, _number(r.lden_base), _number(r.lden_scen), _number(r.d_lden),
                     float(r.distance_m))
        for r in noticed.itertuples()
    ]  # fmt: skip


def scenario_page(
    settings: Settings, items: Sequence[Entry], name: str, args: Mapping[str, str], site: Site
) -> ScenarioPage:
    """The scenario page context (NotFound for an unknown scenario; ValueError for bad args)."""
    parts = sd.parts_of(items, name)
    data = sd.load(settings, parts)
    first = parts.get("links") or parts.get("totals") or next(iter(parts.values()))
    title, title_lang = scenario_title(first, site)
    description, description_lang = scenario_description(list(parts.values()), name, site)
    addresses = []
    if data.buildings is not None and "address" in data.buildings:
        addresses = sorted({a for a in data.buildings["address"] if a})
    relative_gap = _total(data.totals, "relative_gap")
    provenance = first.version.provenance or {}
    timed = parts.get("periods")
    return ScenarioPage(
        name=name,
        title=title or name,
        title_lang=title_lang,
        description=description,
        description_lang=description_lang,
        edits=edits(data.links, site),
        indicators=indicators(data.totals, data.zones, site),
        streets=street_changes(data.links),
        changes=changes_geojson(data.links, site),
        width_key=_width_key(data.links, site),
        zones=zone_layer(data.zones, site),
        bbox=first.version.bbox,
        datasets=[
            {"part": p, "name": e.name, "href": f"/datasets/{e.name}"} for p, e in parts.items()
        ],
        addresses=addresses,
        nearby=nearby(data, args, site),
        gap_note=_gap_note(relative_gap, site),
        demand=demand_panel(data.totals, provenance, site),
        morning=morning_panel(
            data.periods,
            timed.version.provenance if timed else {},
            site,
            f"/scenarios/{name}/periods.geojson",
        ),
        noise_note=_noise_note(data.totals, site),
        limits=site.t("scenario.limits"),
    )


def _width_key(links: gpd.GeoDataFrame | None, site: Site) -> list[WidthStep]:
    """The width key of the before/after maps, up to the largest flow on either map."""
    if links is None or not len(links):
        return []
    top = float(max(links["flow_base"].max(), links["flow_scen"].max()))
    return width_key(top, site.lang, site.t("legend.unit.flow"))


def _total(totals: pd.DataFrame | None, metric: str, column: str = "scen") -> float | None:
    if totals is None or "metric" not in totals or metric not in set(totals["metric"]):
        return None
    return _number(totals.set_index("metric").loc[metric, column])


def _noise_note(totals: pd.DataFrame | None, site: Site) -> str:
    """The share below which a change is convergence noise (largest gap of both runs)."""
    gaps = [_total(totals, m, c) for m in ("relative_gap", "demand_gap") for c in ("base", "scen")]
    known = [g for g in gaps if g is not None]
    if not known:
        return ""
    share = 100 * max(known)
    return site.t("scenario.noise", pct=site.fmt.number(share, _digits(share)))


def _digits(value: float) -> int:
    """Decimals that keep two significant digits of a small share.

    >>> _digits(0.0082), _digits(0.5), _digits(12.0)
    (4, 2, 0)
    """
    return max(0, 1 - math.floor(math.log10(abs(value)))) if value else 0


def _gap_note(gap: float | None, site: Site) -> str:
    """The relative gap the model was solved to, in the locale's scientific notation."""
    if not gap:
        return ""
    return site.t("scenario.gap", gap=format_scientific(gap, format="0E0", locale=site.fmt.locale))
