"""Result maps: only our own Leaflet (no third-party script or stylesheet hosts), legends with
units, increases and decreases coloured apart, noise in 5 dB bands, and a table alternative."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely

from opendata.settings import Settings
from tests.api.site.test_language_leaks import leaks
from tests.conftest import ROOT
from tests.twin.jobs.test_worker import copy_store
from twin.scenarios.maps import BUILDERS, map_dir, map_file, write_maps, zone_cells
from twin.scenarios.maps_layers import (
    DECREASE,
    INCREASE,
    NEUTRAL,
    NOISE,
    diverging,
    legend_html,
    nice,
    noise_bands,
    sequential,
    tooltip_frame,
)
from twin.scenarios.maps_text import MAP_LANGS, MapText, texts
from twin.scenarios.run import ScenarioResult

SCENARIOS = ROOT / "datasets" / "scenarios"


@pytest.fixture(scope="module")
def store(bundled: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_store(bundled, tmp_path_factory.mktemp("maps"))


@pytest.fixture(scope="module")
def result(results: dict[str, ScenarioResult]) -> ScenarioResult:
    """The session's solved closure (the same data as this module's copy of the store)."""
    return results["close_mannerheimintie"]


@pytest.fixture(scope="module")
def pages(store: Settings, result: ScenarioResult) -> dict[str, str]:
    return {k: p.read_text(encoding="utf-8") for k, p in write_maps(store, result).items()}


def test_maps_are_written_under_the_data_dir(store, pages):
    folder = store.data_dir / "maps" / "close_mannerheimintie"
    written = sorted(p.name for p in folder.glob("*.html"))
    assert written == sorted(map_file(k, lang) for k in BUILDERS for lang in MAP_LANGS)
    assert "flows.html" in written and "flows.fi.html" in written


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_map_loads_scripts_and_styles_only_from_our_static_files(store, pages, kind):
    page = pages[kind]
    sources = re.findall(r'<script[^>]+src="([^"]+)"', page)
    sheets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', page)
    assert sources == [
        "/static/vendor/leaflet-1.9.4/leaflet.js",
        "/static/vendor/protomaps-leaflet-5.1.0/protomaps-leaflet.js",
        "/static/site/basemap.js",
    ]
    assert sheets == ["/static/vendor/leaflet-1.9.4/leaflet.css"]
    hosts = {store.tile_url} if store.tile_url else set()  # none unless a city opts in
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == hosts
    # the city's own vector basemap, drawn with the same renderer and style as /map
    assert 'window.civicBasemap("/tiles/basemap.pmtiles", ' in page


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_vendored_leaflet_the_maps_use_exists(kind, pages):
    static = ROOT / "api" / "site"
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', pages[kind]):
        assert (static / url.lstrip("/")).is_file(), url


@pytest.mark.parametrize(
    ("kind", "unit"),
    [
        ("flows", "Baseline flow (veh/h)"),
        ("difference", "Change in flow, scenario minus baseline (veh/h)"),
        ("noise", "Noise at the facade (Lden, dB(A))"),
        ("accessibility", "Change in travel time (min)"),
    ],
)
def test_each_map_has_a_legend_with_units(pages, kind, unit):
    assert "civic-legend" in pages[kind]
    assert unit in pages[kind]


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_each_map_has_a_table_alternative_and_a_skip_link(pages, kind):
    page = pages[kind]
    assert '<a class="skip" href="#table">' in page
    assert re.search(r'<section class="civic-table" id="table"><table><caption>[^<]+', page)
    assert page.count("<tr>") >= 6
    assert '<html lang="en">' in page and "user-scalable=no" not in page


def test_difference_table_leads_with_the_closed_street(pages):
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", pages["difference"]).group(1)
    assert "<td>Mannerheimintie</td><td>closed</td>" in first_row


def test_difference_map_colours_increases_and_decreases_apart(pages):
    page = pages["difference"]
    assert any(c in page for c in INCREASE[1:]) and any(c in page for c in DECREASE[1:])


@pytest.mark.parametrize(
    ("value", "palette"), [(450.0, INCREASE), (-450.0, DECREASE), (60.0, INCREASE)]
)
def test_diverging_classes_split_by_sign(value, palette):
    classes = diverging(400.0, "veh/h")
    assert classes.color(value) in palette
    assert classes.color(-value) not in palette
    assert classes.color(0.0) == NEUTRAL


def test_diverging_classes_grow_darker_with_size():
    classes = diverging(400.0, "veh/h")
    assert [classes.color(v) for v in (40, 150, 250, 400)] == list(INCREASE)
    assert [classes.color(-v) for v in (40, 150, 250, 400)] == list(DECREASE)
    assert classes.labels[0] == "less than -300" and classes.labels[-1] == "more than +300"


@pytest.mark.parametrize(
    ("lden", "band"),
    [
        (40.0, "<55"),
        (54.9, "<55"),
        (55.0, "55-59"),
        (64.99, "60-64"),
        (74.0, "70-74"),
        (81, ">=75"),
    ],
)
def test_noise_classes_are_5_db_bands_from_55(lden, band):
    assert noise_bands().color(lden) == NOISE[band]


@pytest.mark.parametrize(
    ("value", "expected"), [(0.3, 0.5), (1.0, 1.0), (340.0, 500.0), (1e4, 1e4)]
)
def test_nice_rounds_up_to_1_2_5(value, expected):
    assert nice(value) == expected


def test_sequential_legend_labels_name_the_unit():
    html = legend_html("Flow", sequential(2000.0, "veh/h"))
    assert html.startswith("<strong>Flow (veh/h)</strong>")
    assert "under 500" in html and "1,500 to 2,000" in html and "2,000 or more" in html


def test_tooltip_text_is_escaped(result):
    links = result.links.head(2).assign(street=["<img src=x onerror=alert(1)>", "Bulevardi"])
    frame = tooltip_frame(links, {"street": "street"})
    assert list(frame["street"]) == ["&lt;img src=x onerror=alert(1)&gt;", "Bulevardi"]


def test_zone_cells_contain_their_zone_centre(result):
    zones = result.zones[result.zones["kind"] == "grid"]
    cells = zone_cells(zones, result.bbox)
    assert len(cells) == len(zones)
    inside = shapely.contains(cells.to_numpy(), zones.geometry.to_numpy())
    assert np.all(inside | cells.is_empty.to_numpy())


def _visible_texts(page: str) -> list[str]:
    """What a reader sees of a map page: heading, skip link, legend, layer names, tooltip
    labels and the table (the legend and names sit in the page's script as JSON)."""
    legend = json.loads(re.search(r"div\.innerHTML = (\".*?\");", page).group(1))
    layers = re.search(r"overlays\s*:\s*\{(.*?)\}", page, re.S).group(1)
    tooltips = [json.loads(f) for f in re.findall(r"let fields = (\[.*?\]);", page)]
    table = re.search(r'<section class="civic-table".*?</section>', page, re.S).group(0)
    names = [json.loads(n) for n in re.findall(r'("(?:[^"\\]|\\.)*")\s*:', layers)]
    parts = [legend, table, *names]
    parts += [re.search(r"<h1[^>]*>(.*?)</h1>", page).group(1)]
    parts += [re.search(r'<a class="skip"[^>]*>(.*?)</a>', page).group(1)]
    parts += [label for fields in tooltips for label in fields]
    return [t for p in parts for t in re.split(r"<[^>]+>", p) if t.strip()]


@pytest.mark.parametrize("lang", ["fi", "sv"])
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_each_map_is_written_in_finnish_and_swedish(store, pages, kind, lang):
    page = (map_dir(store, "close_mannerheimintie") / map_file(kind, lang)).read_text("utf-8")
    assert f'<html lang="{lang}">' in page
    texts = _visible_texts(page)
    assert len(texts) > 20
    assert leaks(texts) == []  # no English words, no decimal points
    assert leaks(_visible_texts(pages[kind]))  # while the English page's are seen as English
    assert 'window.civicBasemap("/tiles/basemap.pmtiles", ' in page


def test_finnish_numbers_and_units_in_legend_table_and_tooltips(store, pages):
    folder = map_dir(store, "close_mannerheimintie")
    shown = " | ".join(_visible_texts((folder / map_file("flows", "fi")).read_text("utf-8")))
    assert "Liikennemäärä, nykytila (autoa/h)" in shown and "Viivan leveys" in shown
    assert re.search(r"\d\u00a0\d{3}\u00a0autoa/h", shown)  # width key grouped the Finnish way
    assert "Ohita kartta: taulukko" in shown and "tieluokka" in shown  # skip link, tooltip
    text = (folder / map_file("difference", "sv")).read_text("utf-8")
    assert "<td>Mannerheimvägen</td><td>stängd</td>" in text  # Swedish street names
    assert re.search(r'<td class="num">−?\d[\d\u00a0]*,\d</td>', text)  # decimal comma


def test_every_map_text_has_every_language():
    missing = [
        f"{section}.{key}.{lang}"
        for section, entries in texts().items()
        for key, entry in entries.items()
        for lang in MAP_LANGS
        if not entry.get(lang)
    ]
    assert missing == []


def test_map_text_numbers_follow_the_language():
    assert [MapText(lang).num(12345.67) for lang in MAP_LANGS] == [
        "12\u00a0346",
        "12\u00a0346",
        "12,346",
    ]
    assert MapText("fi").num(float("nan")) == "–"
    assert sequential(2000.0, "autoa/h", MapText("fi")).labels[1] == "500 – 1\u00a0000"
    assert diverging(400.0, "bilar/h", MapText("sv")).labels[0] == "mindre än −300"
