"""Context of a dataset page: metadata in the page language, schema, quality of the last run,
versions, downloads and API links, copy-paste snippets, and a 20-row table preview."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from api.site.catalog import scenario_name
from api.site.common import Site, day, email, web_url
from api.site.legend import popup_labels
from api.site.reasons import Reason, translate
from opendata.metadata.search import Entry
from opendata.query.preview import STORAGE, popup_value
from opendata.store import exports
from opendata.store.catalog import Version

TABLE_ROWS = 20


@dataclass(frozen=True)
class Column:
    """One column of the schema table."""

    name: str
    type: str
    unit: str
    description: str
    description_lang: str
    estimate: bool


@dataclass(frozen=True)
class Quality:
    """The quality report of the run that published the current version."""

    status: str
    checked_at: str
    rows_in: int | None
    rows_published: int | None
    rows_repaired: int | None
    rows_quarantined: int | None
    reasons: list[Reason]  #: in the page language when known, else as written
    nulls: list[tuple[str, int]]  #: columns with missing values, and how many
    duration_s: float | None


@dataclass(frozen=True)
class VersionRow:
    version: int
    date: str
    rows: int
    change: int | None  #: rows added (+) or removed (-) against the previous version
    size_bytes: int
    href: str  #: the version's GeoParquet download


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    type: str = ""


@dataclass(frozen=True)
class Snippet:
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class Table:
    """The first rows, as display strings; geometry shown as its type."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class DatasetPage:
    """Everything the dataset page shows (its JSON twin carries the same fields)."""

    name: str
    kind: str
    title: str
    title_lang: str
    description: str
    description_lang: str
    notes: str
    notes_lang: str
    keywords: list[str]
    keywords_lang: str
    themes: list[str]
    license: str  #: the licence's identifier (SPDX)
    license_name: str  #: its name in the page language when known, else the identifier
    license_url: str
    attribution: str
    attribution_lang: str
    update_frequency: str
    publisher: dict[str, str]  #: name, uri and `lang` (the language of the name)
    contact: dict[str, str]  #: name, email and `lang` (the language of the name)
    spatial: str
    spatial_lang: str
    bbox: list[float] | None
    version: int
    modified: str
    rows: int
    schema: list[Column]
    quality: Quality
    versions: list[VersionRow]
    downloads: list[Link]
    apis: list[Link]
    snippets: list[Snippet]
    preview_url: str | None  #: the map preview (GeoJSON); None for tables without geometry
    map_href: str | None
    map_labels: dict[str, dict[str, str]]  #: popup labels and units per column
    scenario_href: str | None  #: the scenario page, for a scenario result
    table: Table


def columns(version: Version, site: Site) -> list[Column]:
    out = []
    for col in version.columns:
        text = site.text(col.get("description") or {})
        out.append(
            Column(
                name=str(col.get("name", "")),
                type=str(col.get("type", "")),
                unit=str(col.get("unit") or ""),
                description=text.text,
                description_lang=text.lang,
                estimate=bool(col.get("estimate")),
            )
        )
    return out


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def quality(report: dict[str, Any], site: Site) -> Quality:
    """The parts of a quality report a citizen can read, in the page language."""
    nulls = report.get("nulls") or {}
    reasons = report.get("quarantine_reasons") or {}
    duration = report.get("duration_s")
    return Quality(
        status=str(report.get("status", "")),
        checked_at=day(str(report.get("started_at", ""))),
        rows_in=_int(report.get("rows_in")),
        rows_published=_int(report.get("rows_published")),
        rows_repaired=_int(report.get("rows_repaired")),
        rows_quarantined=_int(report.get("rows_quarantined")),
        reasons=[
            translate(str(k), int(v), site.t)
            for k, v in sorted(reasons.items(), key=lambda kv: -int(kv[1]))
        ],
        nulls=[(str(k), int(v)) for k, v in nulls.items() if v],
        duration_s=float(duration) if isinstance(duration, int | float) else None,
    )


def version_rows(name: str, versions: list[Version]) -> list[VersionRow]:
    """Newest first, with the change in row count against the previous version."""
    out, previous = [], None
    for v in sorted(versions, key=lambda v: v.version):
        change = None if previous is None else v.rows - previous
        href = exports.download_path(name, v.version, "parquet")
        out.append(VersionRow(v.version, day(v.created_at), v.rows, change, v.size_bytes, href))
        previous = v.rows
    return out[::-1]


def downloads(item: Entry, site: Site) -> list[Link]:
    return [
        Link(
            site.t("download.as", format=f.label),
            exports.latest_path(item.name, f.ext),
            f.media_type,
        )
        for f in exports.formats_for(exports.is_spatial(item.version))
    ]


def api_links(item: Entry, site: Site) -> list[Link]:
    name, t = item.name, site.t
    links = [
        Link(t("api.catalog"), f"/api/datasets/{name}", "application/json"),
        Link(t("api.dcat"), f"/dcat/datasets/{name}.ttl", "text/turtle"),
        Link(t("api.ckan"), f"/api/3/action/package_show?id={name}", "application/json"),
        Link(t("api.sql"), "/sql", "text/html"),  # the SQL page (its form calls /api/sql)
    ]
    if exports.is_spatial(item.version):
        links[:0] = [
            Link(t("api.ogc"), f"/collections/{name}/items?f=html", "text/html"),
            Link(
                t("api.geojson_items"),
                f"/collections/{name}/items?limit=10&f=json",
                "application/geo+json",
            ),
        ]
    return links


def snippets(item: Entry, base: str) -> list[Snippet]:
    """Copy-paste recipes for the current version (curl, GeoPandas, PyArrow, DuckDB); none needs
    more than the downloaded file, so they work offline (DuckDB's httpfs is only an option)."""
    name, v = item.name, item.version.version
    pinned = base + exports.download_path(name, v, "parquet")
    latest = base + exports.latest_path(name, "parquet")
    reader = "gpd.read_parquet" if exports.is_spatial(item.version) else "pd.read_parquet"
    module = "geopandas as gpd" if reader.startswith("gpd") else "pandas as pd"
    return [
        Snippet("curl", "shell", f"curl -L -o {name}.parquet '{latest}'"),
        Snippet(
            "Python (GeoPandas)" if module.startswith("geo") else "Python (pandas)",
            "python",
            f"import {module}\n\n{name} = {reader}('{name}.parquet')  # after the curl above\n"
            f"print({name}.head())",
        ),
        Snippet(
            "Python (PyArrow)",
            "python",
            f"import pyarrow.parquet as pq\n\ntable = pq.read_table('{name}.parquet')\n"
            "print(table.schema)",
        ),
        Snippet("DuckDB", "sql", duckdb_snippet(item, pinned)),
    ]


def duckdb_snippet(item: Entry, pinned: str) -> str:
    """SQL over the downloaded version file (DuckDB reads local Parquet with no extension);
    reading the URL directly needs httpfs, which DuckDB downloads, so it is only mentioned."""
    local = f"{item.name}-v{item.version.version}.parquet"
    columns = "* EXCLUDE (geometry, bbox)" if exports.is_spatial(item.version) else "*"
    return (
        f"-- Download this version once (then no network is needed):\n"
        f"--   curl -L -o {local} '{pinned}'\n"
        f"SELECT {columns}\nFROM read_parquet('{local}')\nLIMIT 10;\n"
        f"-- Or read it over HTTP instead (DuckDB downloads its httpfs extension once):\n"
        f"--   INSTALL httpfs; LOAD httpfs;\n"
        f"--   SELECT {columns} FROM read_parquet('{pinned}') LIMIT 10;"
    )


def _display(value: Any) -> str:
    shown = popup_value(value, 120)
    if shown is None:
        return ""
    if isinstance(shown, float):
        return f"{shown:.6g}"
    return str(shown)


def table_preview(path: Path, geometry: str | None, limit: int = TABLE_ROWS) -> Table:
    """The first `limit` rows of a Parquet file, read in one small batch."""
    handle = pq.ParquetFile(path)
    try:
        names = [n for n in handle.schema_arrow.names if n not in STORAGE]
        batch = next(handle.iter_batches(batch_size=limit, columns=names), None)
    finally:
        handle.close()
    if batch is None:
        return Table(names, [])
    data = pa.Table.from_batches([batch]).to_pydict()
    if geometry in data:
        data[geometry] = [
            "" if g is None else shapely.from_wkb(g).geom_type for g in data[geometry]
        ]
    rows = [[_display(data[n][i]) for n in names] for i in range(batch.num_rows)]
    return Table(names, rows)


def dataset_page(
    item: Entry, versions: list[Version], table: Table, site: Site, *, notes: object = None
) -> DatasetPage:
    """The dataset page context for a catalog entry; `notes` are the spec's metadata notes."""
    meta = item.version
    title, description = site.text(item.title), site.text(item.description)
    notes_text = site.text(notes or "")
    attribution, coverage = site.text(item.attribution), site.text(item.spatial)
    words, words_lang = keywords(item, site)
    spatial = exports.is_spatial(meta)
    return DatasetPage(
        name=item.name,
        kind=item.kind,
        title=title.text or item.name,
        title_lang=title.lang,
        description=description.text,
        description_lang=description.lang,
        notes=notes_text.text,
        notes_lang=notes_text.lang,
        keywords=words,
        keywords_lang=words_lang,
        themes=[site.t.maybe("theme", code) for code in item.themes],
        license=item.license,
        license_name=site.t.maybe("license", item.license) if item.license else "",
        license_url=web_url(item.license_url),
        attribution=attribution.text,
        attribution_lang=attribution.lang,
        update_frequency=site.t.maybe("frequency", item.update_frequency)
        if item.update_frequency
        else "",
        publisher=party(item.publisher, site, "uri"),
        contact=party(item.contact, site, "email"),
        spatial=coverage.text,
        spatial_lang=coverage.lang,
        bbox=meta.bbox,
        version=meta.version,
        modified=day(item.modified),
        rows=meta.rows,
        schema=columns(meta, site),
        quality=quality(meta.report, site),
        versions=version_rows(item.name, versions),
        downloads=downloads(item, site),
        apis=api_links(item, site),
        snippets=snippets(item, site.base_url.rstrip("/")),
        preview_url=f"/datasets/{item.name}/preview.geojson" if spatial else None,
        map_href=f"/map?layers={item.name}" if spatial else None,
        map_labels=popup_labels(meta.columns, site),
        scenario_href=f"/scenarios/{scenario_name(item.name)}" if item.kind == "scenario" else None,
        table=table,
    )


def keywords(item: Entry, site: Site) -> tuple[list[str], str]:
    """Keywords in the page language, else in the first fallback language that has some
    (with that language; '' when mixed)."""
    for code in (site.lang, *site.fallback):
        if item.keywords.get(code):
            return list(item.keywords[code]), code
    return item.all_keywords, ""


def party(who: dict[str, Any], site: Site, link: str) -> dict[str, str]:
    """A publisher or contact: the name in the page language when the metadata has it in
    several (`{"fi": ..., "en": ...}`), its language, and a safe `uri` or `email`."""
    name = site.text(who.get("name") or "")
    safe = web_url(who.get(link)) if link == "uri" else email(who.get(link))
    return {**who, "name": name.text, "lang": name.lang if name.text else "", link: safe}
