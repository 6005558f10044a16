"""`civic ingest` as a data officer runs it over a folder of malformed datasets (the catalogue in
`refusal_cases.py`) and one good one: each bad dataset fails with its own one-line message, the
run report says the same, nothing of it is published, no server path or library message leaks,
and the batch goes on to publish the good dataset and exits 2 with a summary.

The batch runs twice, once as `civic ingest` runs by default (clean point CSVs take the columnar
path) and once with `CIVIC_COLUMNAR=0`, so every rule is seen to hold on both pipelines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from opendata.store.catalog import Catalog
from tests.opendata.helpers import nordic_csv, places_spec
from tests.opendata.refusal_cases import CASES, Case

CIVIC = [sys.executable, "-c", "from api.cli import main; main()"]
PIPELINES = {"columnar": "1", "general": "0"}
BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class Batch:
    """One `civic ingest` of the whole folder: where, with which store, and what it said."""

    folder: Path
    data: Path
    result: subprocess.CompletedProcess[str]

    def catalog(self) -> Catalog:
        return Catalog(f"sqlite:///{self.data / 'catalog.db'}")


def expected(case: Case) -> str:
    return case.message.replace("{name}", case.name)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Batch]:
    folder = tmp_path_factory.mktemp("refusals")
    nordic_csv(folder / "places.csv")
    places_spec(folder)
    for case in CASES:
        case.build(folder, case.name)
    out = {}
    for pipeline, flag in PIPELINES.items():
        data = folder.parent / f"{folder.name}-{pipeline}"
        env = {
            **os.environ,
            "CIVIC_DATA_DIR": str(data),
            "CIVIC_DATASETS_DIR": str(folder),
            "CIVIC_SOURCE_ROOTS": str(folder),
            "CIVIC_COLUMNAR": flag,
        }
        result = subprocess.run(
            [*CIVIC, "ingest"], env=env, capture_output=True, text=True, timeout=300
        )
        out[pipeline] = Batch(folder, data, result)
    return out


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_a_malformed_dataset_fails_with_its_one_line_message(
    batches: dict[str, Batch], name: str, pipeline: str
) -> None:
    lines = batches[pipeline].result.stderr.splitlines()
    assert f"{name}: FAILED: {expected(BY_NAME[name])}" in lines


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_nothing_is_published_for_a_malformed_dataset(
    batches: dict[str, Batch], name: str, pipeline: str
) -> None:
    batch = batches[pipeline]
    catalog = batch.catalog()
    assert name not in {ds.name for ds in catalog.datasets()}
    assert catalog.versions(name) == []
    folder = batch.data / "datasets" / name
    assert not folder.exists() or [p.name for p in folder.iterdir()] == [".lock"]


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize(
    "name", sorted(n for n in BY_NAME if not n.startswith("path_"))
)  # a spec that does not load has no run
def test_the_run_report_says_the_same_and_names_no_server_folder(
    batches: dict[str, Batch], name: str, pipeline: str
) -> None:
    batch = batches[pipeline]
    run = batch.catalog().runs(name)[0]
    assert (run["status"], run["message"]) == ("failed", expected(BY_NAME[name]))
    folder = batch.data / run["report_dir"]
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["message"] == expected(BY_NAME[name])
    text = (folder / "report.txt").read_text(encoding="utf-8")
    assert f"Message:      {expected(BY_NAME[name])}" in text
    for written in (json.dumps(report), text):
        assert str(batch.folder) not in written and str(batch.data) not in written


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_the_batch_goes_on_publishes_the_good_dataset_and_exits_2(
    batches: dict[str, Batch], pipeline: str
) -> None:
    result = batches[pipeline].result
    assert result.returncode == 2
    assert "places: published version 1 (5 rows, 0 quarantined)" in result.stdout.splitlines()
    failed = sorted(BY_NAME)
    assert result.stdout.splitlines()[-1] == (
        f"summary: 1 published (places), 0 unchanged, {len(failed)} failed ({', '.join(failed)})"
    )
    assert result.stderr.splitlines()[-1] == (
        f"error: {len(failed)} of {len(failed) + 1} dataset(s) failed: {', '.join(failed)}; "
        "nothing was published for them"
    )
    assert batches[pipeline].catalog().dataset("places").current_version == 1


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_no_traceback_library_message_or_server_path_reaches_the_officer(
    batches: dict[str, Batch], pipeline: str
) -> None:
    batch = batches[pipeline]
    said = batch.result.stdout + batch.result.stderr
    assert "Traceback" not in said
    assert str(batch.folder) not in said and str(batch.data) not in said
    for raw in ("Errno", "embedded null byte", "GDAL", "pyarrow", "ArrowInvalid", "/vsizip/"):
        assert raw not in said
    # One line per failed dataset and the closing error: nothing else on stderr.
    assert len(batch.result.stderr.splitlines()) == len(CASES) + 1
