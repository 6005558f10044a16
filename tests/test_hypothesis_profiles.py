"""The Hypothesis profiles of tests/conftest.py: `ci` (the default) is derandomised and replays
the repository's recorded failures without writing to them; `fuzz` is random, wider, and
records its failures in that tracked folder."""

from __future__ import annotations

import subprocess
import unittest

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    InMemoryExampleDatabase,
    ReadOnlyDatabase,
)

from tests.conftest import HYPOTHESIS_DB, ROOT


def test_ci_is_the_default_profile_and_is_derandomised():
    ci = settings.get_profile("ci")
    assert settings.default.derandomize is True
    assert ci.derandomize is True
    assert ci.max_examples == 100


def test_ci_replays_the_tracked_database_read_only():
    db = settings.get_profile("ci").database
    assert isinstance(db, ReadOnlyDatabase)
    assert repr(db) == f"ReadOnlyDatabase({DirectoryBasedExampleDatabase(HYPOTHESIS_DB)!r})"


def test_fuzz_profile_is_random_wider_and_records():
    fuzz = settings.get_profile("fuzz")
    assert fuzz.derandomize is False
    assert fuzz.max_examples == 20 * settings.get_profile("ci").max_examples
    assert fuzz.database == DirectoryBasedExampleDatabase(HYPOTHESIS_DB)


def test_database_folder_is_tracked_not_ignored():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(HYPOTHESIS_DB / "x")], cwd=ROOT, check=False
    )
    assert ignored.returncode == 1  # 1: not ignored
    assert (HYPOTHESIS_DB / "README.md").is_file()


def test_a_recorded_failure_is_replayed_under_the_derandomised_profile():
    """Built like `ci` (a database on top of a derandomised parent): a failure saved by one
    run is the first thing the next run tries, before any generation."""
    db = InMemoryExampleDatabase()
    fixed = settings(settings.get_profile("ci"), database=db)

    def prop(n: int) -> None:
        assert n < 1000

    with pytest.raises(AssertionError):
        settings(fixed, max_examples=200)(given(st.integers())(prop))()
    assert any(db.data.values())  # the shrunk failure (n == 1000) was saved
    replay_only = settings(fixed, phases=[Phase.reuse])
    with pytest.raises(AssertionError):
        replay_only(given(st.integers())(prop))()
    empty = settings(settings.get_profile("ci"), database=InMemoryExampleDatabase(),
                     phases=[Phase.reuse])  # fmt: skip
    with pytest.raises(unittest.SkipTest):  # nothing recorded: nothing to replay
        empty(given(st.integers())(prop))()
