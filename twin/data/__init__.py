"""Factor tables of the scenario impacts (CSV, each row with its source citation) and lookups."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from opendata.errors import SpecError

HERE = Path(__file__).resolve().parent


@cache
def load_table(name: str) -> pd.DataFrame:
    """One factor table by file stem, e.g. `emission_factors`; cached, do not mutate."""
    return pd.read_csv(HERE / f"{name}.csv")


def value_of_time(currency: str) -> float:
    """Default value of time per vehicle-hour in `currency` (value_of_time.csv)."""
    table = load_table("value_of_time").set_index("currency")
    if currency not in table.index:
        raise SpecError(f"no default value of time for currency {currency!r}")
    return float(table.loc[currency, "value_per_vehicle_hour"])


def persons_per_dwelling(region: str) -> float:
    """Average persons per dwelling for a region, else the default row (dwelling_occupancy.csv)."""
    table = load_table("dwelling_occupancy").set_index("region")
    key = region if region in table.index else "default"
    return float(table.loc[key, "persons_per_dwelling"])


def vehicle_mix(highway: pd.Series | list) -> tuple[pd.Series, pd.Series]:
    """Medium (CNOSSOS category 2) and heavy (category 3) shares of flow by OSM class."""
    table = load_table("vehicle_mix").set_index("highway")
    cls = pd.Series(list(highway), dtype=object).fillna("").str.removesuffix("_link")
    cls = cls.where(cls.isin(table.index), "default")
    return (
        table["medium_share"].reindex(cls).reset_index(drop=True),
        table["heavy_share"].reindex(cls).reset_index(drop=True),
    )
