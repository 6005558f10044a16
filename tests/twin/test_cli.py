"""`civic twin assign` as a user runs it: results file, progress lines, one-line errors."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.twin.traffic.conftest import TNTP
from twin.cli import progress_printer, twin
from twin.traffic.results import Progress


def _run(*args: str):
    return CliRunner().invoke(twin, ["assign", *args])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_assign_writes_link_results(tmp_path, suffix):
    out = tmp_path / f"flows{suffix}"
    result = _run("--tntp", str(TNTP / "SiouxFalls"), "--gap", "1e-4", "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(table.columns[:6]) == ["from", "to", "flow", "time", "cost", "voc"]
    assert len(table) == 76
    first = table.iloc[0]
    assert (first["from"], first["to"]) == (1, 2)
    assert first["flow"] == pytest.approx(4494.66, rel=0.01)


def test_assign_prints_progress_lines_without_a_terminal():
    result = _run("--tntp", str(TNTP / "SiouxFalls"), "--gap", "1e-4", "--every", "20")
    lines = [line for line in result.stderr.splitlines() if line.startswith("iteration")]
    assert lines[0].startswith("iteration     1  gap ")
    assert float(lines[0].split()[3]) == pytest.approx(0.9, abs=0.01)
    assert lines[1].startswith("iteration    20")
    assert "converged after" in result.stdout


def test_progress_is_overwritten_in_place_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    report = progress_printer(stream)
    report(Progress(1, 0.5, 1.0, 0.1, "fw"))
    report(Progress(2, 0.25, 0.5, 0.2, "fw"))
    assert stream.getvalue().count("\r") == 2
    assert "\n" not in stream.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tntp", "/nonexistent/folder"], "not a folder of TNTP files"),
        (["--tntp", str(TNTP / "SiouxFalls"), "--algorithm", "xfw"], "invalid 'algorithm'"),
        (["--tntp", str(TNTP / "SiouxFalls"), "--gap", "-1"], "invalid 'target_gap'"),
        (["--tntp", str(TNTP / "SiouxFalls"), "--out", "x.txt"], "must end in .csv or .parquet"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, message):
    result = _run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_malformed_net_file_error_names_file_and_line(tmp_path):
    (tmp_path / "x_net.tntp").write_text(
        "<NUMBER OF ZONES> 1\n<NUMBER OF NODES> 2\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> 1\n"
        "<END OF METADATA>\n1 2 10 1 1 0.15 4 0 0 ;\n"
    )
    (tmp_path / "x_trips.tntp").write_text("<NUMBER OF ZONES> 1\n<END OF METADATA>\n")
    result = _run("--tntp", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path / 'x_net.tntp'}, line 6: expected 10 columns, found 9" in result.output
