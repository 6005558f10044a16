"""The `civic` command as a data clerk uses it: one-line errors, non-zero exits, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.opendata.helpers import nordic_csv, places_spec

CIVIC = [sys.executable, "-c", "from api.cli import main; main()"]


def civic(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CIVIC_DATA_DIR": str(folder / "data"),
        "CIVIC_DATASETS_DIR": str(folder),
        "CIVIC_SOURCE_ROOTS": str(folder),
    }
    return subprocess.run([*CIVIC, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    nordic_csv(tmp_path / "places.csv")
    places_spec(tmp_path)
    return tmp_path


def test_ingest_then_list_datasets_and_versions(folder: Path) -> None:
    first = civic(folder, "ingest")
    assert first.returncode == 0, first.stderr
    assert "places: published version 1 (5 rows, 0 quarantined)" in first.stdout
    listed = json.loads(civic(folder, "datasets", "--json").stdout)
    assert listed[0]["name"] == "places" and listed[0]["rows"] == 5 and listed[0]["version"] == 1
    assert listed[0]["status"] == "published"
    assert len(listed[0]["bbox"]) == 4
    again = civic(folder, "ingest", "places")
    assert "places: unchanged version 1" in again.stdout
    versions = civic(folder, "versions", "places")
    assert versions.returncode == 0 and "* v1" in versions.stdout


def test_validate_reports_ok_for_a_good_spec(folder: Path) -> None:
    result = civic(folder, "validate", str(folder / "places.toml"))
    assert result.returncode == 0
    assert "OK (dataset 'places', 4 fields, format csv)" in result.stdout


BAD_INVOCATIONS = [
    (("ingest", "nope"), "error: no spec for nope"),
    (("versions", "nope"), "error: no dataset named 'nope'"),
    (("validate", "missing.toml"), "no such spec file"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INVOCATIONS)
def test_user_errors_print_one_line_and_exit_2(
    folder: Path, args: tuple[str, ...], message: str
) -> None:
    result = civic(folder, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_typo_in_spec_key_fails_validate_with_key_path(folder: Path) -> None:
    spec = folder / "places.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace('"license" =', '"licence" ='), encoding="utf-8"
    )
    result = civic(folder, "validate", str(spec))
    assert result.returncode == 2
    assert "metadata.licence: unknown key (did you mean 'license'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_ingest_exits_nonzero_and_publishes_nothing(folder: Path) -> None:
    (folder / "places.csv").write_bytes(b"tunnus,nimi\n1,a\n")
    result = civic(folder, "ingest")
    assert result.returncode == 2
    assert "places: FAILED" in result.stderr
    assert "Traceback" not in result.stderr
    listed = json.loads(civic(folder, "datasets", "--json").stdout)
    assert listed == [
        {"name": "places", "version": None, "rows": None, "bbox": None, "status": "failed"}
    ]


def test_debug_flag_shows_the_traceback(folder: Path) -> None:
    result = civic(folder, "--debug", "versions", "nope")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_a_second_run_reports_unchanged_in_the_summary_and_exits_0(folder: Path) -> None:
    civic(folder, "ingest")
    again = civic(folder, "ingest")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "summary: 0 published, 1 unchanged (places), 0 failed"


@pytest.fixture
def broken_store(folder: Path) -> Path:
    """Two datasets; the store has a plain file where `places`' folder must go (a server fault,
    not a data fault: the platform fails with an OSError it does not expect)."""
    (folder / "other.toml").write_bytes((folder / "places.toml").read_bytes())
    (folder / "data" / "datasets").mkdir(parents=True)
    (folder / "data" / "datasets" / "places").write_text("not a folder")
    return folder


def test_an_unexpected_failure_of_one_dataset_does_not_stop_the_batch(broken_store: Path) -> None:
    result = civic(broken_store, "ingest")
    assert result.returncode == 1  # a fault of the platform, not of the data
    assert result.stderr.splitlines() == [
        "places: FAILED: unexpected error (FileExistsError) while ingesting; nothing was "
        "published. This is a fault of the platform or its server, not of the data: run "
        "`civic --debug ingest` for the details and report them",
        "error: 1 of 2 dataset(s) failed: places; nothing was published for them",
    ]
    assert result.stdout.splitlines() == [
        "other: published version 1 (5 rows, 0 quarantined)",
        "summary: 1 published (other), 0 unchanged, 1 failed (places)",
    ]


def test_debug_shows_the_original_error_of_a_failed_dataset(broken_store: Path) -> None:
    result = civic(broken_store, "--debug", "ingest", "places")
    assert result.returncode == 1
    assert "FileExistsError: [Errno 17] File exists" in result.stderr
    assert "Traceback" in result.stderr


def test_validate_refuses_a_control_character_in_the_source_path(folder: Path) -> None:
    spec = folder / "places.toml"
    text = spec.read_text(encoding="utf-8").replace('"places.csv"', '"places\\u0000.csv"')
    spec.write_text(text, encoding="utf-8")
    result = civic(folder, "validate", str(spec))
    assert result.returncode == 2
    assert result.stderr == (
        "error: places.toml: source.path: contains an invisible control character (U+0000, NUL) "
        "at position 7; type the file name again without it\n"
    )
