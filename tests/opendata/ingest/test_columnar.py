"""The columnar pipeline publishes exactly what the general pipeline publishes, and hands over to
it whenever the data needs a row-level decision (a reject, a privacy decision, a bad coordinate).

Every test ingests the same source twice, into two stores: once as `civic ingest` does by default
and once with the columnar path turned off (`CIVIC_COLUMNAR=0`), and compares the published
files, the reports and the errors.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pyproj import Transformer

from opendata.errors import CivicError
from opendata.ingest import columnar
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import version_path
from tests.conftest import spec_data, write_toml

TO_3067 = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
FIELDS = [
    {"name": "id", "type": "integer", "required": True, "unique": True},
    {"name": "nimi", "type": "string"},
    {"name": "luokka", "type": "string", "allowed": ["koulu", "kirjasto", "päiväkoti"]},
    {"name": "maara", "type": "integer", "min": 0},
    {"name": "arvo", "type": "float"},
    {"name": "pvm", "type": "date"},
]
OPTIONS = {"delimiter": ";", "decimal": ",", "encoding": "cp1252", "x": "x", "y": "y"}
REPORT_VOLATILE = {"run_id", "started_at", "duration_s", "pipeline"}


def rows(n: int, seed: int = 3) -> list[dict[str, str]]:
    """`n` clean rows as a Finnish municipality exports them (cells as text)."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(24.90, 25.00, n), rng.uniform(60.15, 60.20, n)
    x, y = TO_3067.transform(lon, lat)
    names = ["Ähtäri", "Öljymäki", "Åkerö", "Tõnismägi", "Müllerintie", ""]
    return [
        {
            "id": str(i + 1),
            "nimi": names[i % len(names)],
            "luokka": ["koulu", "kirjasto", "päiväkoti"][i % 3],
            "maara": "" if i % 7 == 0 else str(int(rng.integers(0, 999))),
            "arvo": f"{rng.normal(100, 20):.3f}".replace(".", ","),
            "pvm": "" if i % 5 == 0 else f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "x": f"{x[i]:.2f}".replace(".", ","),
            "y": f"{y[i]:.2f}".replace(".", ","),
        }
        for i in range(n)
    ]


def write_csv(path: Path, table: list[dict[str, str]], *, encoding: str = "cp1252") -> Path:
    header = list(table[0])
    lines = [";".join(header)] + [";".join(r[c] for c in header) for r in table]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_spec(folder: Path, **changes: Any) -> Path:
    source = {"path": "points.csv", "format": "csv", "crs": "EPSG:3067", "options": OPTIONS}
    source.update(changes.pop("source", {}))
    data = spec_data(source, changes.pop("fields", FIELDS), primary_key="id", **changes)
    return write_toml(folder / "points.toml", data)


def both(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The outcome of ingesting `folder/points.toml` with and without the columnar path."""
    out = []
    for columnar_on in (True, False):
        store = folder / ("fast" if columnar_on else "general")
        cfg = Settings(
            data_dir=store, datasets_dir=folder, source_roots=(folder,), columnar=columnar_on
        )
        out.append(outcome(cfg, folder / "points.toml"))
    return out[0], out[1]


def outcome(cfg: Settings, spec_path: Path) -> dict[str, Any]:
    try:
        result = ingest(load_spec(spec_path), cfg)
    except CivicError as err:
        return {"error": f"{type(err).__name__}: {err}"}
    version = Catalog(cfg.catalog_url).version("points")
    path = version_path(cfg, version)
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    report = {k: v for k, v in result.report.items() if k not in REPORT_VOLATILE}
    quarantine = path.parent / "quarantine.parquet"
    return {
        "table": table.replace_schema_metadata(None),
        "geo": geo,
        "report": report,
        "pipeline": result.report["pipeline"],
        "catalog": (version.rows, version.bbox, version.columns, version.source_crs),
        "quarantine": pq.read_table(quarantine).to_pylist() if quarantine.exists() else [],
    }


def assert_same(fast: dict[str, Any], general: dict[str, Any]) -> None:
    assert fast.keys() == general.keys()
    if "error" in general:
        assert fast["error"] == general["error"]
        return
    assert fast["table"].schema == general["table"].schema
    assert fast["table"].equals(general["table"]), "published rows differ"
    for key in ("geo", "report", "catalog", "quarantine"):
        assert fast[key] == general[key], key


def test_clean_nordic_csv_takes_the_columnar_path_and_publishes_the_same_file(
    tmp_path: Path,
) -> None:
    write_csv(tmp_path / "points.csv", rows(3000))
    write_spec(tmp_path)
    fast, general = both(tmp_path)
    assert fast["pipeline"] == "columnar"
    assert general["pipeline"] == "general: turned off (CIVIC_COLUMNAR=0)"
    assert_same(fast, general)
    table = fast["table"]
    assert table.num_rows == 3000 and table.column("fid").to_pylist() == list(range(1, 3001))
    assert set(table.column("nimi").to_pylist()) == {
        "Ähtäri", "Öljymäki", "Åkerö", "Tõnismägi", "Müllerintie", None
    }  # fmt: skip
    assert table.column("maara").null_count == 3000 // 7 + 1
    assert table.schema.field("pvm").type == pa.date32()
    path = version_path(
        Settings(data_dir=tmp_path / "fast"),
        Catalog(f"sqlite:///{tmp_path / 'fast' / 'catalog.db'}").version("points"),
    )
    assert pq.ParquetFile(path).metadata.row_group(0).column(1).compression == "ZSTD"
    assert "Pipeline:     columnar\n" in (path.parent / "report.txt").read_text()


@pytest.mark.parametrize(
    ("crs", "options"),
    [
        ("EPSG:4326", {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}),
        ("EPSG:3006", {"delimiter": ";", "decimal": ",", "encoding": "auto"}),
    ],
)
def test_other_crs_and_encodings_publish_the_same(
    tmp_path: Path, crs: str, options: dict[str, str]
) -> None:
    table = rows(400)
    to = Transformer.from_crs("EPSG:3067", crs, always_xy=True)
    for r in table:
        x, y = to.transform(float(r["x"].replace(",", ".")), float(r["y"].replace(",", ".")))
        r["x"], r["y"] = (f"{v:.7f}" if crs == "EPSG:4326" else f"{v:.2f}" for v in (x, y))
        r["arvo"] = r["arvo"].replace(",", ".")
        if options["decimal"] == ",":
            r.update(x=r["x"].replace(".", ","), y=r["y"].replace(".", ","))
            r["arvo"] = r["arvo"].replace(".", ",")
    lines = [options["delimiter"].join(table[0])]
    lines += [
        options["delimiter"].join(f'"{v}"' if "," in v else v for v in r.values()) for r in table
    ]
    encoding = "utf-8" if options["encoding"] != "cp1252" else "cp1252"
    (tmp_path / "points.csv").write_bytes("\n".join(lines).encode(encoding))
    write_spec(tmp_path, source={"crs": crs, "options": {**options, "x": "x", "y": "y"}})
    fast, general = both(tmp_path)
    assert fast["pipeline"] == "columnar"
    assert_same(fast, general)


def _with(table: list[dict[str, str]], row: int, **cells: str) -> list[dict[str, str]]:
    table = [dict(r) for r in table]
    table[row].update(cells)
    return table


#: Cells the columnar path does not decide: why it hands over, and how many rows the general
#: pipeline then quarantines (a date with a time is accepted there: its date is published).
HANDOVERS = {
    "a number that does not parse": (_with(rows(50), 7, maara="12a"), "column 'maara'", 1),
    "thousands with a space": (_with(rows(50), 7, arvo="1 234,5"), "column 'arvo'", 1),
    "nan spelled out": (_with(rows(50), 9, arvo="nan"), "column 'arvo'", 1),
    "a fraction in an integer": (_with(rows(50), 3, maara="2,5"), "column 'maara'", 1),
    "a value not allowed": (_with(rows(50), 4, luokka="kauppa"), "allowed list", 1),
    "below the minimum": (_with(rows(50), 4, maara="-3"), "column 'maara': below minimum 0", 1),
    "a day that does not exist": (_with(rows(50), 4, pvm="2023-02-29"), "column 'pvm'", 1),
    "a date with a time": (_with(rows(50), 4, pvm="2024-01-05T10:00"), "column 'pvm'", 0),
    "a blank coordinate": (_with(rows(50), 2, x=""), "coordinates are missing", 1),
    "a coordinate that is text": (_with(rows(50), 2, y="n/a"), "coordinates are missing", 1),
    "a stray coordinate": (_with(rows(50), 2, x="9999999,0"), "area of use", 1),
    "a point outside the city": (_with(rows(50), 2, x="300000,0"), "outside 24.5, 59.9", 1),
}


@pytest.mark.parametrize("case", sorted(HANDOVERS))
def test_rows_that_need_a_decision_go_to_the_general_pipeline(tmp_path: Path, case: str) -> None:
    table, why, quarantined = HANDOVERS[case]
    write_csv(tmp_path / "points.csv", table)
    write_spec(tmp_path, quality={"max_reject_fraction": 0.1})
    fast, general = both(tmp_path)
    assert why in fast["pipeline"], fast["pipeline"]
    assert fast["pipeline"].startswith("general: ")
    assert_same(fast, general)
    assert len(fast["quarantine"]) == fast["report"]["rows_quarantined"] == quarantined


#: A broken primary key fails the run on both paths with one message, whether the field also
#: says `unique`/`required` (the columnar path hands over) or not (it decides itself).
KEY_FAILURES = {
    "a duplicate key": (
        {"id": "1"},
        "column 'id' is the primary key (schema.primary_key) but the value '1' appears in 2 rows "
        "(rows 1, 5); keys must be unique",
    ),
    "a missing key": (
        {"id": ""},
        "column 'id' is the primary key (schema.primary_key) but 1 row has no value "
        "(row 5); every row needs its own key",
    ),
}


@pytest.mark.parametrize("declared", ["unique and required", "only the key"])
@pytest.mark.parametrize("case", sorted(KEY_FAILURES))
def test_a_broken_primary_key_fails_both_paths_alike(
    tmp_path: Path, case: str, declared: str
) -> None:
    cells, message = KEY_FAILURES[case]
    write_csv(tmp_path / "points.csv", _with(rows(50), 4, **cells))
    fields = (
        FIELDS if declared != "only the key" else [{"name": "id", "type": "integer"}, *FIELDS[1:]]
    )
    write_spec(tmp_path, fields=fields, quality={"max_reject_fraction": 0.5})
    fast, general = both(tmp_path)
    assert general["error"] == f"ValidationFailed: {message}"
    assert_same(fast, general)
    for store in ("fast", "general"):
        assert Catalog(f"sqlite:///{tmp_path / store / 'catalog.db'}").versions("points") == []


def test_coordinates_in_the_wrong_crs_fail_with_the_general_message(tmp_path: Path) -> None:
    write_csv(tmp_path / "points.csv", rows(60))
    write_spec(tmp_path, source={"crs": "EPSG:4326"})
    fast, general = both(tmp_path)
    assert "do not fit the declared CRS EPSG:4326" in general["error"]
    assert_same(fast, general)


def test_personal_data_blocks_both_paths_with_the_same_message(tmp_path: Path) -> None:
    table = _with(rows(40), 5, nimi="soita 040 123 4567")
    write_csv(tmp_path / "points.csv", table)
    write_spec(tmp_path)
    fast, general = both(tmp_path)
    assert general["error"].startswith("PrivacyBlocked")
    assert_same(fast, general)


def test_a_dropped_personal_column_stays_on_the_columnar_path(tmp_path: Path) -> None:
    table = [dict(r, puhelin=f"040 123 45{i % 100:02d}") for i, r in enumerate(rows(40))]
    write_csv(tmp_path / "points.csv", table)
    fields = [*FIELDS, {"name": "puhelin", "type": "string"}]
    write_spec(tmp_path, fields=fields, privacy={"puhelin": {"action": "drop", "reason": "phone"}})
    fast, general = both(tmp_path)
    assert fast["pipeline"] == "columnar"
    assert fast["report"]["privacy"] == [
        {"column": "puhelin", "detector": "phone", "count": 40, "action": "drop"}
    ]
    assert "puhelin" not in fast["table"].column_names
    assert_same(fast, general)


def test_hashing_and_transforms_are_not_columnar(tmp_path: Path) -> None:
    write_csv(tmp_path / "points.csv", rows(20))
    write_spec(tmp_path, privacy={"nimi": {"action": "hash", "reason": "names"}})
    spec = load_spec(tmp_path / "points.toml")
    schema = spec.schema
    assert columnar.not_eligible(spec, schema) == "a privacy decision hashes a column"
    assert columnar.not_eligible(replace(spec, privacy={}), schema) is None
    fields = [*FIELDS[:-1], {"name": "pvm", "type": "datetime"}]
    write_spec(tmp_path, fields=fields)
    assert columnar.not_eligible(load_spec(tmp_path / "points.toml"), schema=replace(
        schema, fields=load_spec(tmp_path / "points.toml").schema.fields
    )) == "column 'pvm' is a datetime"  # fmt: skip


CELLS = st.one_of(
    st.sampled_from(["", " ", "0", "-0", "+5", "007", "1,5", "2,0", "1e3", "1E+05", ".5", "5,",
                     "nan", "inf", "-inf", "1 000", "12a", "9" * 20, "2024-02-29", "2023-02-29",
                     "1900-01-01", "0001-01-01", "koulu", "kauppa", "ä", "040 123 4567"]),
    st.integers(-10, 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}".replace(".", ",")),
)  # fmt: skip


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_mix_of_cells_gives_the_same_outcome_on_both_paths(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    table = rows(12, seed=data.draw(st.integers(0, 1000)))
    for _ in range(data.draw(st.integers(0, 3))):
        row = data.draw(st.integers(0, 11))
        column = data.draw(st.sampled_from(["id", "nimi", "luokka", "maara", "arvo", "pvm"]))
        table[row][column] = data.draw(CELLS)
    write_csv(folder / "points.csv", table)
    write_spec(folder, quality={"max_reject_fraction": 0.5})
    fast, general = both(folder)
    assert_same(fast, general)


def test_a_bad_byte_in_an_unpublished_column_fails_both_paths_alike(tmp_path: Path) -> None:
    table = [dict(r, huom="ok") for r in rows(30)]
    path = write_csv(tmp_path / "points.csv", table)
    path.write_bytes(path.read_bytes().replace(b";ok\r\n", b";o\x81k\r\n", 1))
    write_spec(tmp_path)
    fast, general = both(tmp_path)
    assert "is not cp1252 text" in general["error"]
    assert_same(fast, general)
