"""Building blocks of the result maps: colour classes, legends, tooltips and the HTML table that
is each map's text alternative, worded and numbered in the map's language (`MapText`). Pure
functions of values; `twin.scenarios.maps` composes them."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from twin.scenarios.maps_text import MapText

#: Self-hosted Leaflet (served by the API under /static); no CDN, no jQuery or Bootstrap.
LEAFLET = "/static/vendor/leaflet-1.9.4"
#: The site's vector-tile renderer and basemap style (the same as /map), and the city's tiles.
PROTOMAPS = "/static/vendor/protomaps-leaflet-5.1.0/protomaps-leaflet.js"
BASEMAP_STYLE = "/static/site/basemap.js"
BASEMAP_TILES = "/tiles/basemap.pmtiles"
ENGLISH = MapText("en")
#: Colours readable with red-green colour blindness: viridis for amounts, blue-orange (never
#: red-green) for before/after, magma for noise; lightness always carries the order.
SEQUENTIAL = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")  # viridis, light: little
INCREASE = ("#fee0b6", "#fdb863", "#e08214", "#b35806")  # oranges: more (worse)
DECREASE = ("#d8daeb", "#92c5de", "#4393c3", "#2166ac")  # blues: less (better)
NEUTRAL = "#bdbdbd"
NOISE = {
    "<55": "#e0e0e0",
    "55-59": "#fcfdbf",
    "60-64": "#feb078",
    "65-69": "#f1605d",
    "70-74": "#b5367a",
    ">=75": "#51127c",
}


class SelfHostedMap(folium.Map):
    """A folium map that loads only our vendored Leaflet (class attributes, not a global patch)."""

    default_js = [("leaflet", f"{LEAFLET}/leaflet.js")]
    default_css = [("leaflet_css", f"{LEAFLET}/leaflet.css")]


class VectorBasemapMap(SelfHostedMap):
    """A map that also loads protomaps-leaflet and the site's basemap style (all our files)."""

    default_js = [
        *SelfHostedMap.default_js,
        ("protomaps", PROTOMAPS),
        ("civic_basemap", BASEMAP_STYLE),
    ]


class Basemap(MacroElement):
    """The city's own basemap from our vector tiles, drawn under the result layers (the same
    renderer and style as the site's /map; `civicBasemap` is defined by basemap.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        if (window.civicBasemap) {
            window.civicBasemap({{ this.url|tojson }}, {{ this.attribution|tojson }})
                .addTo({{ this._parent.get_name() }});
        }
        {% endmacro %}"""
    )

    def __init__(self, url: str, attribution: str) -> None:
        super().__init__()
        self._name = "Basemap"
        self.url, self.attribution = url, attribution


@dataclass(frozen=True)
class Classes:
    """Class breaks with one colour and label per class; `unit` is shown in the legend."""

    breaks: tuple[float, ...]  # upper bounds of every class but the last
    colors: tuple[str, ...]
    labels: tuple[str, ...]
    unit: str

    def color(self, value: float) -> str:
        """The colour of the class holding `value` (NaN: neutral grey)."""
        if value != value:
            return NEUTRAL
        for bound, color in zip(self.breaks, self.colors, strict=False):
            if value < bound:
                return color
        return self.colors[-1]


def nice(value: float) -> float:
    """A round number (1, 2 or 5 times a power of ten) at least `value`.

    >>> nice(340.0)
    500.0
    """
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= value)


def _fmt(value: float, text: MapText) -> str:
    digits = 0 if abs(value) >= 10 or value == int(value) else None
    return text.num(value, digits)


def sequential(limit: float, unit: str, text: MapText = ENGLISH) -> Classes:
    """Five classes from 0 up to a round `limit`, light to dark."""
    step = nice(limit / 5)
    breaks = tuple(step * i for i in range(1, 5))
    labels = [text.t("class.under", a=_fmt(breaks[0], text))]
    labels += [
        text.t("class.range", a=_fmt(a, text), b=_fmt(b, text))
        for a, b in zip(breaks, breaks[1:], strict=False)
    ]
    labels.append(text.t("class.over", a=_fmt(breaks[-1], text)))
    return Classes(breaks, SEQUENTIAL, tuple(labels), unit)


def diverging(limit: float, unit: str, text: MapText = ENGLISH, *, noise: float = 0.0) -> Classes:
    """Four blue classes for decreases, a grey 'about the same' class within `noise`, and four
    orange classes for increases, symmetric up to a round `limit`."""
    step = nice(max(limit, 4 * noise, 1e-9) / 4)
    steps = [max(noise, step / 10), step, 2 * step, 3 * step]
    neg = [-s for s in reversed(steps)]
    breaks = (*neg, steps[0], *steps[1:])
    colors = (*reversed(DECREASE), NEUTRAL, *INCREASE)
    minus = "-" if text.lang == "en" else "\u2212"  # a true minus sign where CLDR writes one
    pairs = list(zip(steps[:-1], steps[1:], strict=False))
    labels = [text.t("class.less_than", a=_fmt(steps[-1], text))]
    labels += [
        text.t("class.range", a=minus + _fmt(b, text), b=minus + _fmt(a, text)) for a, b in pairs
    ][::-1]
    labels.append(text.t("class.same", a=_fmt(steps[0], text)))
    labels += [
        text.t("class.range", a=f"+{_fmt(a, text)}", b=f"+{_fmt(b, text)}") for a, b in pairs
    ]
    labels.append(text.t("class.more_than", a=_fmt(steps[-1], text)))
    return Classes(breaks, colors, tuple(labels), unit)


def noise_bands(text: MapText = ENGLISH) -> Classes:
    """Lden in 5 dB bands from 55 dB(A), the bands of the EU Environmental Noise Directive."""
    middle = tuple(band for band in NOISE if band[0].isdigit())  # "55-59" ... "70-74"
    return Classes(
        (55.0, 60.0, 65.0, 70.0, 75.0),
        tuple(NOISE.values()),
        (text.t("noise.under_55"), *middle, text.t("noise.over_75")),
        text.t("unit.lden"),
    )


class Legend(MacroElement):
    """A legend control (bottom right) listing each class's colour and label, with the unit."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var legend_{{ this.get_name() }} = L.control({position: "bottomright"});
        legend_{{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "civic-legend");
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        legend_{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(
        self,
        title: str,
        classes: Classes,
        widths: Sequence[tuple[str, float]] = (),
        text: MapText = ENGLISH,
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = legend_html(title, classes, widths, text)


def legend_html(
    title: str,
    classes: Classes,
    widths: Sequence[tuple[str, float]] = (),
    text: MapText = ENGLISH,
) -> str:
    """The legend's HTML: a title with the unit, one swatch and label per class, then a width
    key (a line per label at the width the map draws it) when widths carry meaning."""
    rows = "".join(
        f'<li><span class="swatch" style="background:{c}"></span>{html.escape(label)}</li>'
        for c, label in zip(classes.colors, classes.labels, strict=True)
    )
    head = f"{html.escape(title)} ({html.escape(classes.unit)})"
    key = "".join(
        f'<li><svg width="36" height="12" aria-hidden="true"><line x1="0" y1="6" x2="36" y2="6" '
        f'stroke="#555" stroke-width="{w:.1f}"/></svg> {html.escape(label)}</li>'
        for label, w in widths
    )
    line = html.escape(text.t("page.line_width"))
    width = f'<strong>{line}</strong><ul role="list">{key}</ul>' if key else ""
    return f'<strong>{head}</strong><ul role="list">{rows}</ul>{width}'


STYLE = """<style>
.civic-legend{background:#fff;padding:6px 8px;font:13px/1.4 sans-serif;border-radius:4px;
box-shadow:0 1px 4px rgba(0,0,0,.4)}.civic-legend ul{list-style:none;margin:4px 0 0;padding:0}
.civic-legend .swatch{display:inline-block;width:14px;height:10px;margin-right:6px;
border:1px solid #555}.civic-table{font:14px/1.4 sans-serif;margin:1rem;overflow-x:auto}
.civic-table table{border-collapse:collapse}.civic-table th,.civic-table td{padding:2px 8px;
border-bottom:1px solid #ccc;text-align:left}.civic-table td.num{text-align:right}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;z-index:2000;background:#fff}
</style>"""


def table_html(
    caption: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    anchor: str,
    text: MapText = ENGLISH,
) -> str:
    """An accessible HTML table (caption, header cells with scope), every value escaped and
    every number written the language's way."""
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in columns)

    def cell(v: object) -> str:
        if isinstance(v, float | int):  # counts and big values whole (15 686), others 1 decimal
            digits = 0 if isinstance(v, int) or abs(v) >= 100 else 1
            return f'<td class="num">{html.escape(text.num(float(v), digits))}</td>'
        return f"<td>{html.escape(str(v))}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return (
        f'<section class="civic-table" id="{anchor}"><table><caption>{html.escape(caption)}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def tooltip_frame(
    frame: gpd.GeoDataFrame, fields: dict[str, str], text: MapText = ENGLISH
) -> gpd.GeoDataFrame:
    """Only the tooltip fields (renamed to their labels) and geometry; text escaped, since
    Leaflet inserts tooltip text as HTML and OSM names are free text; numbers written the
    language's way (`1 234`, `54,3`), never float noise."""
    out = frame[[*fields, "geometry"]].rename(columns=fields)
    for label in fields.values():
        if pd.api.types.is_numeric_dtype(out[label]):
            out[label] = out[label].map(lambda v: text.num(float(v)))
        else:
            out[label] = out[label].map(lambda v: html.escape(str(v)))
    return out


def geojson_layer(
    frame: gpd.GeoDataFrame, name: str, style: dict[str, object], *, show: bool = True
) -> folium.FeatureGroup:
    """A feature group of `frame` styled per feature from its `_color` (and `_weight`) columns;
    points become circle markers, every other column is shown in the tooltip."""
    group = folium.FeatureGroup(name=name, show=show)
    fields = [c for c in frame.columns if not c.startswith("_") and c != "geometry"]

    def style_function(feature: dict) -> dict:
        props = feature["properties"]
        return {**style, "color": props["_color"], "fillColor": props["_color"]} | (
            {"weight": props["_weight"]} if "_weight" in props else {}
        )

    folium.GeoJson(
        frame.to_json(drop_id=True),
        name=name,
        style_function=style_function,
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9),
        tooltip=folium.GeoJsonTooltip(fields=fields) if fields else None,
    ).add_to(group)
    return group
