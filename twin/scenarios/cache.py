"""Loaded cities and solved baselines kept per process, keyed by exactly what they depend on (the
store, the demand overrides, the dataset versions), so a worker or a sweep solves a baseline once
and a newer published version is never answered from a stale copy."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import LRUCache

from opendata.errors import NotFound
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from twin.city.load import City
from twin.scenarios.edits import load_city
from twin.scenarios.model import DATASETS, ScenarioSpec
from twin.scenarios.run import Baseline, prepare_baseline


class Memo:
    """A thread-safe least-recently-used memo (a city or a baseline is a few MB: keep a few)."""

    def __init__(self, size: int = 2) -> None:
        self.items: LRUCache = LRUCache(maxsize=size)
        self.lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value for `key`, made (outside the lock) on a miss."""
        with self.lock:
            if key in self.items:
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
        return value


def city_key(settings: Settings, spec: ScenarioSpec) -> tuple:
    """What a loaded city depends on: store, demand overrides and the dataset versions used."""
    catalog = Catalog(settings.catalog_url)
    pins = spec.baseline.versions
    versions = tuple((n, pins.get(n) or _current(catalog, n)) for n in DATASETS)
    demand = json.dumps(spec.baseline.demand, sort_keys=True)
    return (settings.catalog_url, str(settings.data_dir), demand, versions)


def _current(catalog: Catalog, name: str) -> int | None:
    """The current version of a dataset; None for the optional stops when none are published."""
    try:
        return catalog.version(name).version
    except NotFound:
        if name != "stops":
            raise
        return None


_CITIES = Memo(2)


def city_for(settings: Settings, spec: ScenarioSpec) -> City:
    """The city `spec` starts from, loaded once per process and dataset versions."""
    return _CITIES.get(city_key(settings, spec), lambda: load_city(settings, spec))


class BaselineCache:
    """Solved baselines by (baseline_key, dataset versions), reused by jobs in one process."""

    def __init__(self, size: int = 2) -> None:
        self.memo = Memo(size)

    def get(self, settings: Settings, spec: ScenarioSpec, progress: Any = None) -> Baseline:
        """The solved baseline `spec` runs against, solved now on a miss."""
        key = (spec.baseline_key(), city_key(settings, spec))
        return self.memo.get(key, lambda: prepare_baseline(settings, spec, progress=progress))
