"""The ingestion pipeline end to end on a Nordic CSV: publish, version, quarantine, refuse."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest

from opendata.errors import PrivacyBlocked, SourceError, SpecError, ValidationFailed
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.geoparquet import read_geo_metadata
from opendata.store.publish import version_path
from tests.opendata.helpers import PLACES, nordic_csv, places_spec


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    return tmp_path


def test_nordic_csv_is_published_as_geoparquet_11(folder: Path, settings: Settings) -> None:
    result = ingest(load_spec(folder / "places.toml"), settings)
    assert (result.status, result.version, result.rows) == ("published", 1, 5)
    path = version_path(settings, Catalog(settings.catalog_url).version("places"))
    geo = read_geo_metadata(path)
    assert geo["version"] == "1.1.0"
    assert geo["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert "EPSG" in json.dumps(
        geo["columns"]["geometry"].get("crs", {"id": {"authority": "EPSG"}})
    )
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["nimi"]) == sorted(p[1] for p in PLACES)
    row = frame.set_index("tunnus").loc["p1"]
    assert row.geometry.x == pytest.approx(24.9384, abs=1e-6)
    assert row.geometry.y == pytest.approx(60.1699, abs=1e-6)
    assert frame["fid"].tolist() == [1, 2, 3, 4, 5]


def test_unchanged_source_makes_no_new_version(folder: Path, settings: Settings) -> None:
    spec = load_spec(folder / "places.toml")
    ingest(spec, settings)
    again = ingest(spec, settings)
    assert (again.status, again.version) == ("unchanged", 1)
    assert [v.version for v in Catalog(settings.catalog_url).versions("places")] == [1]


def test_changed_source_adds_a_version_and_keeps_the_old_one(
    folder: Path, settings: Settings
) -> None:
    spec = load_spec(folder / "places.toml")
    ingest(spec, settings)
    nordic_csv(folder / "places.csv", PLACES[:3])
    result = ingest(spec, settings)
    catalog = Catalog(settings.catalog_url)
    assert (result.version, result.rows) == (2, 3)
    assert catalog.dataset("places").current_version == 2
    old = catalog.version("places", 1)
    assert len(gpd.read_parquet(version_path(settings, old))) == 5


def test_bad_rows_under_threshold_are_quarantined_with_reasons(
    folder: Path, settings: Settings
) -> None:
    bad = [
        *PLACES,
        ("p6", "Rikki", "Kauppa", 24.94, 60.17, "paljon"),
        ("p7", "Turku", "Kauppa", 22.27, 60.45, "1"),  # another city: outside CIVIC_CITY_BBOX
    ]
    nordic_csv(folder / "places.csv", bad)
    places_spec(folder, quality={"max_reject_fraction": 0.5})
    result = ingest(load_spec(folder / "places.toml"), settings)
    assert result.rows == 5
    assert result.report["rows_quarantined"] == 2
    run = Catalog(settings.catalog_url).runs("places")[0]
    quarantine = gpd.pd.read_parquet(settings.data_dir / run["report_dir"] / "quarantine.parquet")
    reasons = dict(zip(quarantine["tunnus"], quarantine["reason"], strict=True))
    assert reasons["p6"] == "column 'määrä': not a valid integer: 'paljon'"
    assert reasons["p7"] == "coordinates outside 24.5, 59.9, 25.5, 60.5 (lon/lat, CIVIC_CITY_BBOX)"
    text = (settings.data_dir / run["report_dir"] / "report.txt").read_text(encoding="utf-8")
    assert "Quarantined:  2" in text


def test_too_many_rejects_publish_nothing_and_keep_previous(
    folder: Path, settings: Settings
) -> None:
    spec = load_spec(folder / "places.toml")
    ingest(spec, settings)
    nordic_csv(folder / "places.csv", [(k, n, t, x, y, "many") for k, n, t, x, y, _ in PLACES])
    with pytest.raises(ValidationFailed, match=r"5 of 5 rows \(100.0%\) were rejected"):
        ingest(spec, settings)
    catalog = Catalog(settings.catalog_url)
    assert catalog.dataset("places").current_version == 1
    failed = catalog.runs("places")[0]
    assert failed["status"] == "failed"
    assert (settings.data_dir / failed["report_dir"] / "quarantine.parquet").is_file()
    assert sorted(p.name for p in (settings.data_dir / "datasets" / "places").iterdir()) == [
        ".lock",
        "v1",
    ]


def test_personal_data_blocks_publication_until_the_spec_decides(
    folder: Path, settings: Settings
) -> None:
    rows = [(k, f"{n} info@example.fi", t, x, y, c) for k, n, t, x, y, c in PLACES]
    nordic_csv(folder / "places.csv", rows)
    with pytest.raises(PrivacyBlocked) as err:
        ingest(load_spec(folder / "places.toml"), settings)
    assert "nimi" in str(err.value) and "email" in str(err.value)
    assert "info@example.fi" not in str(err.value)
    assert Catalog(settings.catalog_url).datasets() == []
    places_spec(folder, privacy={"nimi": {"action": "hash"}})
    result = ingest(load_spec(folder / "places.toml"), settings)
    frame = gpd.read_parquet(
        version_path(settings, Catalog(settings.catalog_url).version("places"))
    )
    assert result.rows == 5
    assert not frame["nimi"].str.contains("@").any()


def test_source_outside_allowed_roots_is_refused(folder: Path, settings: Settings) -> None:
    places_spec(folder, csv_name="../../../../etc/passwd")
    with pytest.raises(SpecError) as err:
        ingest(load_spec(folder / "places.toml"), settings)
    assert str(err.value) == (
        "source.path: '../../../../etc/passwd' is outside the folders sources may be read from "
        "(CIVIC_SOURCE_ROOTS); move the file into the datasets folder"
    )


def test_empty_source_file_is_refused(folder: Path, settings: Settings) -> None:
    (folder / "places.csv").write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        ingest(load_spec(folder / "places.toml"), settings)
    assert Catalog(settings.catalog_url).datasets() == []
