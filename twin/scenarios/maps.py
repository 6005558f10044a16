"""Result maps of a scenario as self-contained HTML (folium on our vendored Leaflet): baseline
flows, flow difference, noise bands and accessibility change, each followed by a table of the
largest changes as its text alternative. Written to `data_dir/maps/<scenario>/<kind>.html`."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from opendata.settings import Settings
from opendata.store._atomic import write_text_atomic
from opendata.store.published import read_published
from twin.city.roads import METRIC_CRS
from twin.scenarios.maps_layers import (
    NOISE,
    STYLE,
    Legend,
    SelfHostedMap,
    diverging,
    geojson_layer,
    nice,
    noise_bands,
    sequential,
    table_html,
    tooltip_frame,
)
from twin.scenarios.run import ScenarioResult

TOP = 15
LINE = {"opacity": 0.85}
AREA = {"weight": 1, "opacity": 0.9, "fillOpacity": 0.6}


@dataclass(frozen=True)
class MapContext:
    """What maps need beyond the result: the basemap and street names by road fid."""

    tile_url: str
    attribution: str
    names: dict[int, str] = field(default_factory=dict)


def base_map(result: ScenarioResult, ctx: MapContext, title: str) -> tuple[Figure, folium.Map]:
    """A page titled `title` with a skip link and a map fitted to the result, basemap only."""
    fig = Figure(title=f"{title} – {result.spec.title['en']}")
    fig.header.add_child(Element(STYLE), name="civic_style")
    fig.html.add_child(Element('<a class="skip" href="#table">Skip the map: table</a>'))
    fig.html.add_child(Element(f"<h1 class='civic-table'>{html.escape(fig.title)}</h1>"))
    m = SelfHostedMap(tiles=None, height="70vh", control_scale=True)
    if ctx.tile_url:  # an opted-in third-party basemap; by default the result is drawn alone
        folium.TileLayer(ctx.tile_url, attr=ctx.attribution, name="basemap").add_to(m)
    x0, y0, x1, y1 = result.bbox
    m.fit_bounds([[y0, x0], [y1, x1]])
    fig.add_child(m)
    return fig, m


def _streets(links: gpd.GeoDataFrame, ctx: MapContext) -> pd.Series:
    names = links["road_fid"].map(ctx.names).fillna("")
    return names.where(names != "", "(" + links["highway"] + ")")


@dataclass(frozen=True)
class Page:
    """A map figure and its text alternative (placed after the map when rendered)."""

    figure: Figure
    table: str


def _finish(fig: Figure, m: folium.Map, table: str, legend: Legend) -> Page:
    legend.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return Page(fig, table)


def flows_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Baseline peak-hour flows: line colour and width by flow."""
    fig, m = base_map(result, ctx, "Traffic flows, baseline")
    links = result.links.assign(street=_streets(result.links, ctx))
    flow = links["flow_base"].to_numpy()
    classes = sequential(float(np.quantile(flow, 0.98)), "veh/h")
    frame = tooltip_frame(
        links, {"street": "street", "highway": "road class", "flow_base": "veh/h"}
    )
    frame["_color"] = [classes.color(v) for v in flow]
    top = max(float(flow.max()), 1.0)
    frame["_weight"] = 1.0 + 7.0 * np.sqrt(flow / top)
    steps = [nice(top / 4), nice(top / 2), nice(top)]
    widths = [(f"{v:,.0f} veh/h", 1.0 + 7.0 * np.sqrt(min(v, top) / top)) for v in steps]
    geojson_layer(frame, "baseline flow", LINE).add_to(m)
    top = links.sort_values("flow_base", ascending=False).drop_duplicates("street").head(TOP)
    rows = [(r.street, r.highway, r.flow_base) for r in top.itertuples()]
    table = table_html(
        "Busiest road links, baseline", ["street", "road class", "veh/h"], rows, anchor="table"
    )
    return _finish(fig, m, table, Legend("Baseline flow", classes, widths))


def difference_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Scenario minus baseline flow: orange where traffic grows, blue where it falls."""
    fig, m = base_map(result, ctx, "Change in traffic flow")
    links = result.links.assign(street=_streets(result.links, ctx))
    change = links["d_flow"].to_numpy()
    classes = diverging(float(np.quantile(np.abs(change), 0.98)), "veh/h")
    fields = {"street": "street", "edit": "edit", "flow_base": "before", "flow_scen": "after"}
    frame = tooltip_frame(links, fields | {"d_flow": "change veh/h"})
    frame["_color"] = [classes.color(v) for v in change]
    frame["_weight"] = np.where(np.abs(change) >= classes.breaks[4], 4.0, 1.5)
    geojson_layer(frame, "change in flow", LINE).add_to(m)
    order = np.argsort(-np.abs(change), kind="stable")
    top = links.iloc[order].drop_duplicates("street").head(TOP)  # one row per street
    rows = [(r.street, r.edit or "-", r.flow_base, r.flow_scen, r.d_flow) for r in top.itertuples()]
    columns = ["street", "edit", "before veh/h", "after veh/h", "change veh/h"]
    table = table_html("Largest changes in traffic flow", columns, rows, anchor="table")
    return _finish(fig, m, table, Legend("Change in flow, scenario minus baseline", classes))


def noise_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Facade Lden per home in the scenario, in 5 dB bands from 55 dB(A)."""
    fig, m = base_map(result, ctx, "Road traffic noise at homes (Lden)")
    homes = result.buildings
    classes = noise_bands()
    fields = {"lden_base": "before dB", "lden_scen": "after dB", "d_lden": "change dB"}
    frame = tooltip_frame(homes, fields | {"residents_scen": "residents (est.)"})
    frame["_color"] = [classes.color(v) for v in homes["lden_scen"].fillna(0).to_numpy()]
    geojson_layer(frame, "Lden, scenario", AREA).add_to(m)
    totals = result.totals.set_index("metric")
    bands = {f"residents_lden_{b}": b for b in NOISE if b != "<55"} | {
        "residents_lden_55_plus": "55 or more"
    }
    rows = [
        (b, *totals.loc[k, ["base", "scen", "change"]])
        for k, b in bands.items()
        if k in totals.index
    ]
    top = homes.iloc[np.argsort(-np.abs(homes["d_lden"].fillna(0).to_numpy()))[:TOP]]
    rows += [(f"building {r.fid}", r.lden_base, r.lden_scen, r.d_lden) for r in top.itertuples()]
    columns = ["band / building", "before", "after", "change"]
    caption = "Residents per Lden band (persons), then homes with the largest change (dB)"
    table = table_html(caption, columns, rows, anchor="table")
    return _finish(fig, m, table, Legend("Noise at the facade", classes))


def zone_cells(zones: gpd.GeoDataFrame, bbox: tuple[float, ...]) -> gpd.GeoSeries:
    """Voronoi cells of the zone centres (EPSG:4326), clipped to the result's bounding box
    (grown to keep every centre 150 m inside)."""
    metric = zones.geometry.to_crs(METRIC_CRS)
    box = gpd.GeoSeries([shapely.box(*bbox)], crs=4326).to_crs(METRIC_CRS).iloc[0]
    box = shapely.union(box, shapely.MultiPoint(list(metric)).buffer(150)).envelope
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(metric)), extend_to=box, ordered=True)
    clipped = shapely.intersection(np.asarray(cells.geoms), box)
    return gpd.GeoSeries(clipped, crs=METRIC_CRS, index=zones.index).to_crs(4326)


def access_changes(zones: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Minutes-to-service changes per zone by measure (`walk_grocery_min`, ...) plus the mean
    congested trip time from the zone; measures that change nowhere are left out."""
    measures = {c.removesuffix("_base") for c in zones.columns if c.endswith("_min_base")}
    out = {"time_from": zones["d_time_from"].to_numpy(dtype=float)}
    for measure in sorted(measures):
        change = zones[f"{measure}_scen"].to_numpy(dtype=float) - zones[f"{measure}_base"]
        out[measure] = np.asarray(change, dtype=float)
    return {
        k: v for k, v in out.items() if k == "time_from" or np.nanmax(np.abs(v), initial=0) > 0.01
    }


def _label(measure: str) -> str:
    if measure == "time_from":
        return "mean trip time from the zone"
    mode, category, _ = measure.split("_")
    return f"{mode} minutes to the nearest {category}"


def accessibility_map(result: ScenarioResult, ctx: MapContext) -> Page:
    """Change in minutes to the nearest services (and in mean trip time) per zone."""
    fig, m = base_map(result, ctx, "Change in accessibility")
    zones = result.zones[result.zones["kind"] == "grid"]
    changes = access_changes(zones)
    limit = max(float(np.nanquantile(np.abs(v), 0.98)) for v in changes.values())
    classes = diverging(limit, "min", noise=0.05)
    cells = zones.set_geometry(zone_cells(zones, result.bbox))
    rows = []
    for i, (measure, change) in enumerate(changes.items()):
        frame = gpd.GeoDataFrame(
            {"zone": cells["zone"].to_numpy(), "change min": np.round(change, 2)},
            geometry=cells.geometry.to_numpy(),
            crs=4326,
        )
        frame["_color"] = [classes.color(v) for v in change]
        geojson_layer(frame, _label(measure), AREA, show=i == 0).add_to(m)
        rows += [
            (f"zone {z}", _label(measure), c) for z, c in zip(cells["zone"], change, strict=True)
        ]
    rows = sorted(rows, key=lambda r: -abs(r[2]) if r[2] == r[2] else 0)[:TOP]
    caption = "Zones with the largest change in minutes (positive: longer, worse)"
    table = table_html(caption, ["zone", "measure", "change min"], rows, anchor="table")
    return _finish(fig, m, table, Legend("Change in travel time", classes))


BUILDERS: dict[str, Callable[[ScenarioResult, MapContext], Page]] = {
    "flows": flows_map,
    "difference": difference_map,
    "noise": noise_map,
    "accessibility": accessibility_map,
}


def render(page: Page) -> str:
    """The page's HTML: map, then its table; declared English (the labels are) and zoomable
    (WCAG 1.4.4)."""
    html_text = page.figure.render().replace("<html>", '<html lang="en">', 1)
    html_text = html_text.replace(", maximum-scale=1.0, user-scalable=no", "")
    head, tail = html_text.rsplit("</body>", 1)
    return f"{head}{page.table}\n</body>{tail}"


def road_names(settings: Settings, version: int | None = None) -> dict[int, str]:
    """Street names of the published roads (Finnish, else Swedish) by fid."""
    roads, _ = read_published(settings, "roads", version)
    names = roads["name"].fillna(roads.get("name_sv", pd.Series(dtype=object))).fillna("")
    return dict(zip(roads["fid"].astype(int), names.astype(str), strict=True))


def map_dir(settings: Settings, name: str) -> Path:
    """Where the maps of scenario `name` are written."""
    return settings.data_dir / "maps" / name


def write_maps(settings: Settings, result: ScenarioResult) -> dict[str, Path]:
    """Build every map kind and replace `data_dir/maps/<scenario>/<kind>.html` atomically."""
    names = road_names(settings, result.provenance.get("datasets", {}).get("roads"))
    ctx = MapContext(settings.tile_url, settings.tile_attribution, names)
    out = {}
    for kind, build in BUILDERS.items():
        path = map_dir(settings, result.spec.name) / f"{kind}.html"
        write_text_atomic(path, render(build(result, ctx)))
        out[kind] = path
    return out
