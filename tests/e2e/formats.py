"""Open a downloaded body in its format's own reader and count its rows: GeoParquet with pyarrow
and GeoPandas, GeoJSON with json and GeoPandas, CSV with the csv module, GeoPackage with pyogrio
(GDAL), RDF with rdflib. A reader that raises means the download is broken for its users."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
from rdflib import Graph

#: File extension -> the media type a server must send it as.
MEDIA = {
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
    "rdf": "application/rdf+xml",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
}
#: A dataset file: `/datasets/<name>/versions/<n>/<file>.<ext>` or `/datasets/<name>/latest.<ext>`.
DOWNLOAD = re.compile(
    r"^/datasets/(?P<name>[^/]+)/(?:versions/\d+/[^/]+|latest)\.(?P<ext>parquet|geojson|csv|gpkg)$"
)


def parquet_rows(body: bytes) -> int:
    """Rows of a Parquet file, read by pyarrow; a GeoParquet file (one with `geo` metadata) is
    read again as a GeoDataFrame. A SQL answer without a geometry column is plain Parquet."""
    table = pq.read_table(io.BytesIO(body))
    if b"geo" not in (table.schema.metadata or {}):
        return table.num_rows
    frame = gpd.read_parquet(io.BytesIO(body))
    if len(frame) != table.num_rows:
        raise ValueError(f"pyarrow reads {table.num_rows} rows, GeoPandas {len(frame)}")
    return table.num_rows


def geojson_rows(body: bytes) -> int:
    """Features of a GeoJSON FeatureCollection, parsed by json and again by GeoPandas (GDAL)."""
    features = json.loads(body)["features"]
    frame = gpd.read_file(io.BytesIO(body))
    if len(frame) != len(features):
        raise ValueError(f"json reads {len(features)} features, GeoPandas {len(frame)}")
    return len(features)


def csv_rows(body: bytes) -> int:
    """Data rows of a CSV file (the header line excluded); UTF-8 as the platform writes it."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    if not rows:
        raise ValueError("empty file: no header line")
    return len(rows) - 1


def gpkg_rows(body: bytes) -> int:
    """Features of the GeoPackage's first layer, read by GDAL through pyogrio from a `.gpkg`
    file, as a user saves it (GDAL warns about GeoPackages without the extension)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "download.gpkg"
        path.write_bytes(body)
        layers = pyogrio.list_layers(path)
        if len(layers) == 0:
            raise ValueError("no layer in the GeoPackage")
        return len(pyogrio.read_dataframe(path, layer=layers[0][0]))


def rdf_rows(body: bytes, fmt: str) -> int:
    """Triples of an RDF document (its "rows"), parsed by rdflib."""
    return len(Graph().parse(data=body, format=fmt))


READERS: dict[str, Callable[[bytes], int]] = {
    "parquet": parquet_rows,
    "geojson": geojson_rows,
    "csv": csv_rows,
    "gpkg": gpkg_rows,
    "rdf": lambda body: rdf_rows(body, "xml"),
    "ttl": lambda body: rdf_rows(body, "turtle"),
    "jsonld": lambda body: rdf_rows(body, "json-ld"),
}
#: Media type -> extension, to open a body that came without a telling file name.
BY_MEDIA = {media: ext for ext, media in MEDIA.items()}


def count_rows(body: bytes, ext: str) -> int:
    """Open `body` as a file of kind `ext` and count its rows; raises when it does not open."""
    return READERS[ext](body)
