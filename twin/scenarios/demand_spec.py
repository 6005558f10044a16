"""The `[demand]` table of a scenario spec: the demand assumption (elastic or fixed) and the
parameters of mode and destination choice, checked with the key path of any mistake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from opendata.errors import SpecError
from opendata.ingest.speccheck import check_keys, choice, fail, number
from twin.city.modes import ModeAssumptions
from twin.city.travel import DEMAND_MODELS, MODES, ChoiceAssumptions
from twin.scenarios.model import CURRENCIES

#: Keys that must be > 0 (the others >= 0).
POSITIVE = {
    "car_occupancy",
    "value_of_time",
    "walk_kmh",
    "bike_speed_factor",
    "max_access_m",
    "theta",
}
MODE_KEYS = {f.name for f in fields(ModeAssumptions)}
NUMBER_KEYS = {
    "sensitivity",
    "theta",
    "car_occupancy",
    "parking_eur",
    "car_terminal_min",
    "value_of_time",
    "target_gap",
} | MODE_KEYS
DEMAND_KEYS = NUMBER_KEYS | {"model", "mode_shares", "currency", "max_iterations"}


def _value(data: Mapping[str, Any], key: str) -> float:
    path = f"demand.{key}"
    value = number(data[key], path)
    if value < 0 or (key in POSITIVE and value == 0):
        raise SpecError(f"{path}: must be {'positive' if key in POSITIVE else '>= 0'}, got {value}")
    if key == "theta" and value > 1:
        raise SpecError(f"{path}: must be in (0, 1] (mode choice above destination), got {value}")
    if key == "target_gap" and not value < 1:
        raise SpecError(f"{path}: must be in (0, 1), got {value}")
    if key == "target_gap" and value == 0:
        raise SpecError(f"{path}: must be in (0, 1), got {value}")
    return value


def _shares(value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, dict):
        raise fail("demand.mode_shares", f"a table of shares for {', '.join(MODES)}", value)
    check_keys(value, "demand.mode_shares", set(MODES), set(MODES))
    shares = {m: number(value[m], f"demand.mode_shares.{m}") for m in MODES}
    if any(v < 0 for v in shares.values()) or abs(sum(shares.values()) - 1) > 1e-6:
        raise SpecError(f"demand.mode_shares: shares must be >= 0 and sum to 1, got {shares}")
    return tuple(shares.items())


def parse_demand(data: object) -> ChoiceAssumptions:
    """The demand assumptions of a spec's `[demand]` table (all keys optional)."""
    if not isinstance(data, dict):
        raise fail("demand", "a table", data)
    check_keys(data, "demand", DEMAND_KEYS, set())
    numbers = {k: _value(data, k) for k in NUMBER_KEYS & data.keys()}
    modes = ModeAssumptions(**{k: v for k, v in numbers.items() if k in MODE_KEYS})
    kw: dict[str, Any] = {k: v for k, v in numbers.items() if k not in MODE_KEYS}
    if "model" in data:
        kw["model"] = choice(data["model"], "demand.model", DEMAND_MODELS)
    if "mode_shares" in data:
        kw["mode_shares"] = _shares(data["mode_shares"])
    if "currency" in data:
        kw["currency"] = choice(data["currency"], "demand.currency", CURRENCIES)
    if "max_iterations" in data:
        iters = data["max_iterations"]
        if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
            raise fail("demand.max_iterations", "an integer >= 1", iters)
        kw["max_iterations"] = iters
    return ChoiceAssumptions(**kw, modes=modes)
