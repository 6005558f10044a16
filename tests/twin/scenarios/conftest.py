"""Solved baselines and bundled results shared by every scenario test module (one solve each
per session): the assignment, the demand loop and the impacts are the slow part."""

from __future__ import annotations

import copy

import pytest

from opendata.settings import Settings
from tests.conftest import ROOT
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.run import Baseline, ScenarioResult, prepare_baseline, run_scenario
from twin.scenarios.spec import load_scenario, parse_scenario

SCENARIOS = ROOT / "datasets" / "scenarios"
BUNDLED = ("close_mannerheimintie", "centre_30kmh", "new_block_toolonlahti", "cordon_esplanadi")


def bundled_spec(name: str, **demand: object) -> ScenarioSpec:
    """A bundled scenario, optionally with `[demand]` keys changed."""
    spec = load_scenario(SCENARIOS / f"{name}.toml")
    if not demand:
        return spec
    data = copy.deepcopy(spec.raw)
    data["demand"] = {**data.get("demand", {}), **demand}
    return parse_scenario(data)


@pytest.fixture(scope="session")
def baseline(bundled: Settings) -> Baseline:
    """One solved baseline shared by every bundled scenario (they share their settings)."""
    return prepare_baseline(bundled, bundled_spec("close_mannerheimintie"))


@pytest.fixture(scope="session")
def results(bundled: Settings, baseline: Baseline) -> dict[str, ScenarioResult]:
    """Every bundled scenario with its default (elastic) demand."""
    return {n: run_scenario(bundled, bundled_spec(n), baseline=baseline) for n in BUNDLED}


@pytest.fixture(scope="session")
def fixed_results(bundled: Settings, baseline: Baseline) -> dict[str, ScenarioResult]:
    """The closure and the cordon with fixed demand, against the same baseline."""
    names = ("close_mannerheimintie", "cordon_esplanadi")
    return {
        n: run_scenario(bundled, bundled_spec(n, model="fixed"), baseline=baseline) for n in names
    }
