"""Builders for pipeline tests: a small Nordic CSV and its spec, written into a folder."""

from __future__ import annotations

from pathlib import Path

from pyproj import Transformer

from tests.conftest import spec_data, write_toml

TO_3067 = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
PLACES = [
    ("p1", "Ähtäri-talo", "Kauppa", 24.9384, 60.1699, "12"),
    ("p2", "Ørestad hus", "Koulu", 24.9410, 60.1702, "340"),
    ("p3", "Tõnismägi", "Kirjasto", 24.9452, 60.1711, "5"),
    ("p4", "Müller & Söhne", "Kauppa", 24.9499, 60.1688, "0"),
    ("p5", "Café €uro", "Kahvila", 24.9512, 60.1672, "77"),
]


def nordic_csv(path: Path, rows: list[tuple] = PLACES, *, extra: str = "") -> Path:
    """Write places as a ';'-separated, decimal-comma, Windows-1252 CSV in EPSG:3067."""
    lines = ["tunnus;nimi;tyyppi;itä;pohjoinen;määrä"]
    for key, name, kind, lon, lat, count in rows:
        x, y = TO_3067.transform(lon, lat)
        xs, ys = f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ",")
        lines.append(f"{key};{name};{kind};{xs};{ys};{count}")
    text = "\r\n".join(lines) + "\r\n" + extra
    path.write_bytes(text.encode("cp1252"))
    return path


def places_spec(folder: Path, *, csv_name: str = "places.csv", **extra: object) -> Path:
    """A spec for `nordic_csv`, written as folder/places.toml."""
    fields = [
        {"name": "tunnus", "type": "string", "required": True, "unique": True},
        {"name": "nimi", "type": "string"},
        {"name": "tyyppi", "type": "string"},
        {"name": "määrä", "type": "integer", "min": 0},
    ]
    source = {
        "path": csv_name,
        "format": "csv",
        "crs": "EPSG:3067",
        "options": {
            "delimiter": ";",
            "decimal": ",",
            "encoding": "cp1252",
            "x": "itä",
            "y": "pohjoinen",
        },
    }
    data = spec_data(source, fields, primary_key="tunnus", **extra)
    return write_toml(folder / "places.toml", data)
