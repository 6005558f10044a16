"""Builders of real-looking source files for the reader tests, written into a test's tmp_path.

Every place has a true WGS 84 position; files carry it projected to a national grid with pyproj, so
tests can check that a reader's points land back on it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely

from tests.conftest import ROOT

OSM_PBF = ROOT / "datasets/sources/osm/helsinki-center.osm.pbf"


@dataclass(frozen=True)
class Place:
    """A named place with its true position (lon, lat in EPSG:4326)."""

    name: str
    kind: str
    lon: float
    lat: float


#: Nordic and Baltic names that break naive encodings: å ä ö æ ø õ ü and €.
PLACES = (
    Place("Ähtäri skola", "koulu", 24.9460, 60.1699),
    Place("Ørestad Kræmmerhus", "kirjasto", 24.9384, 60.1719),
    Place("Tõnismägi", "puisto", 24.9522, 60.1675),
    Place("Müllerin päiväkoti", "päiväkoti", 24.9315, 60.1635),
    Place("Café € Kauppatori", "kahvila", 24.9525, 60.1673),
    Place("Södermalm, Åsögatan", "kauppa", 24.9410, 60.1600),
)


def project(lon: float, lat: float, epsg: int) -> tuple[float, float]:
    """A WGS 84 position in another CRS (x = easting/lon, y = northing/lat)."""
    transformer = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    return transformer.transform(lon, lat)


def number(value: float, decimal: str) -> str:
    """A coordinate written as a municipality would: fixed decimals, maybe a decimal comma."""
    text = f"{value:.7f}" if abs(value) < 1000 else f"{value:.3f}"
    return text.replace(".", decimal)


def places_csv(
    path: Path,
    *,
    epsg: int = 3067,
    delimiter: str = ";",
    decimal: str = ",",
    encoding: str = "cp1252",
    geometry: str = "xy",
    extra_lines: tuple[str, ...] = (),
    places: tuple[Place, ...] = PLACES,
) -> Path:
    """The places as CSV with `id, nimi, luokka` and x/y (or a WKT) column in `epsg`."""
    header = ["id", "nimi", "luokka", *(("x", "y") if geometry == "xy" else ("wkt",))]
    lines = [delimiter.join(header)]
    for i, place in enumerate(places, start=1):
        x, y = project(place.lon, place.lat, epsg)
        if geometry == "xy":
            coords = [number(x, decimal), number(y, decimal)]
        else:
            coords = [f'"POINT ({x:.3f} {y:.3f})"']
        name = f'"{place.name}"' if delimiter in place.name else place.name
        lines.append(delimiter.join([str(i), name, place.kind, *coords]))
    text = "\r\n".join([*lines, *extra_lines]) + "\r\n"
    path.write_bytes(text.encode(encoding))  # "utf-8-sig" writes the BOM Excel adds
    return path


def places_frame(epsg: int = 3067) -> gpd.GeoDataFrame:
    """The places as a GeoDataFrame in `epsg`."""
    points = [shapely.Point(project(p.lon, p.lat, epsg)) for p in PLACES]
    data = {"nimi": [p.name for p in PLACES], "luokka": [p.kind for p in PLACES]}
    return gpd.GeoDataFrame(data, geometry=points, crs=f"EPSG:{epsg}")


def parks_frame(epsg: int = 3067) -> gpd.GeoDataFrame:
    """Two small park polygons (a second layer) in `epsg`."""
    squares = [shapely.box(*project(24.94, 60.17, epsg), *project(24.945, 60.173, epsg))]
    squares.append(shapely.box(*project(24.95, 60.16, epsg), *project(24.953, 60.162, epsg)))
    return gpd.GeoDataFrame({"nimi": ["Esplanadi", "Tähtitorninvuori"]}, geometry=squares, crs=epsg)


def two_layer_gpkg(path: Path) -> Path:
    """A GeoPackage with layers `koulut` (points) and `puistot` (polygons), EPSG:3067."""
    places_frame().to_file(path, layer="koulut", driver="GPKG")
    parks_frame().to_file(path, layer="puistot", driver="GPKG")
    return path


def zipped_shapefile(
    path: Path,
    *,
    epsg: int | None = 3006,
    cpg: bool = True,
    parts: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg"),
    extra_layer: str | None = None,
) -> Path:
    """The places as a zipped Shapefile with a cp1252 .dbf (and .cpg saying so)."""
    folder = path.parent / f"{path.stem}_parts"
    folder.mkdir()
    frame = places_frame(epsg or 3006)
    if epsg is None:
        frame = frame.set_crs(None, allow_override=True)
    frame.to_file(folder / "kohteet.shp", encoding="cp1252")
    if extra_layer:
        parks_frame(epsg or 3006).to_file(folder / f"{extra_layer}.shp", encoding="cp1252")
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in parts and (cpg or file.suffix != ".cpg"):
                archive.write(file, f"data/{file.name}")
    return path


def places_xlsx(path: Path, *, header_row: int = 1, cover: bool = True) -> Path:
    """The places on sheet `Kohteet` (after a cover sheet `Ohje`): x as numbers, y as
    decimal-comma text, in EPSG:3067."""
    workbook = openpyxl.Workbook()
    rows = workbook.active
    rows.title = "Kohteet"
    if cover:
        workbook.create_sheet("Ohje", 0)["A1"] = "Tiedot ovat välilehdellä Kohteet."
    for _ in range(header_row - 1):
        rows.append(["Kaupunkiympäristön toimiala, 2025"])
    rows.append(["id", "nimi", "luokka", "x", "y", "avattu"])
    for i, place in enumerate(PLACES, start=1):
        x, y = project(place.lon, place.lat, 3067)
        rows.append(
            [i, place.name, place.kind, round(x, 3), number(y, ","), pd.Timestamp(2020, i, 1)]
        )
    workbook.save(path)
    return path


def places_geoparquet(path: Path, epsg: int = 3067) -> Path:
    """The places as GeoParquet (geo metadata with the CRS)."""
    places_frame(epsg).to_parquet(path)
    return path


def places_plain_parquet(path: Path, *, wkt: bool = False) -> Path:
    """The places as plain Parquet with float x/y (or WKT) columns in EPSG:3067, no geo metadata."""
    xy = [project(p.lon, p.lat, 3067) for p in PLACES]
    data = {"id": pa.array(range(1, len(PLACES) + 1)), "nimi": [p.name for p in PLACES]}
    if wkt:
        data["wkt"] = [f"POINT ({x} {y})" for x, y in xy]
    else:
        data["x"], data["y"] = [x for x, _ in xy], [y for _, y in xy]
    pq.write_table(pa.table(data), path)
    return path


def truncated(source: Path, target: Path, keep: float = 0.5) -> Path:
    """A copy of `source` cut after `keep` of its bytes (an interrupted download)."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target
