"""Export the public services of the OSM extract as a Nordic municipal CSV.

This is how the bundled `services` dataset goes through the Nordic-CSV path: the file this writes
(`datasets/sources/palvelut.csv`) is what a Finnish municipality typically publishes — `;`
separated, decimal comma, Windows-1252, ETRS-TM35FIN (EPSG:3067) coordinates, Finnish headers.
The CSV is committed; rerun this only when the OSM extract changes:

    python datasets/tools/export_services_csv.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opendata.readers.osm import read_osm

HERE = Path(__file__).resolve().parents[1]
PBF = HERE / "sources" / "osm" / "helsinki-center.osm.pbf"
OUT = HERE / "sources" / "palvelut.csv"

CATEGORIES = {
    ("amenity", "school"): "school",
    ("amenity", "college"): "school",
    ("amenity", "kindergarten"): "kindergarten",
    ("amenity", "library"): "library",
    ("amenity", "pharmacy"): "pharmacy",
    ("healthcare", "pharmacy"): "pharmacy",
    ("amenity", "clinic"): "health",
    ("amenity", "doctors"): "health",
    ("amenity", "dentist"): "health",
    ("amenity", "hospital"): "health",
    ("healthcare", "clinic"): "health",
    ("healthcare", "dentist"): "health",
    ("healthcare", "doctor"): "health",
    ("shop", "supermarket"): "grocery",
    ("shop", "convenience"): "grocery",
    ("shop", "greengrocer"): "grocery",
}


def _category(row: pd.Series) -> str | None:
    for (key, value), category in CATEGORIES.items():
        if str(row.get(key)) == value:
            return category
    return None


def _decimal_comma(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{v:.2f}".replace(".", ","))


def main() -> None:
    filters = [
        "amenity in (school, college, kindergarten, library, pharmacy)",
        "amenity in (clinic, doctors, dentist, hospital)",
        "healthcare in (pharmacy, clinic, dentist, doctor)",
        "shop in (supermarket, convenience, greengrocer)",
    ]
    tags = [
        "name",
        "name:sv",
        "amenity",
        "healthcare",
        "shop",
        "addr:street",
        "addr:housenumber",
        "phone",
        "contact:phone",
        "email",
        "contact:email",
    ]
    frame = read_osm(
        PBF,
        crs=None,
        options={"filter": filters, "geometry": "any", "centroids": True, "tags": tags},
    )
    frame = frame.to_crs("EPSG:3067")
    frame["luokka"] = frame.apply(_category, axis=1)
    frame = frame[frame["luokka"].notna()].sort_values("osm_key")
    street = frame["addr:street"].fillna("")
    number = frame["addr:housenumber"].fillna("")
    out = pd.DataFrame(
        {
            "palvelu_id": frame["osm_key"],
            "nimi": frame["name"],
            "namn": frame["name:sv"],
            "palvelutyyppi": frame["amenity"].fillna(frame["healthcare"]).fillna(frame["shop"]),
            "luokka": frame["luokka"],
            "katuosoite": (street + " " + number).str.strip(),
            "puhelin": frame["phone"].fillna(frame["contact:phone"]),
            "sahkoposti": frame["email"].fillna(frame["contact:email"]),
            "itakoordinaatti": _decimal_comma(frame.geometry.x),
            "pohjoiskoordinaatti": _decimal_comma(frame.geometry.y),
        }
    )
    out.to_csv(OUT, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    print(f"wrote {len(out)} services to {OUT}")


if __name__ == "__main__":
    main()
