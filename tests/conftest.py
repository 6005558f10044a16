"""Shared fixtures: settings on a temporary store, spec builders, the bundled municipality."""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Verbosity
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

from opendata.settings import Settings
from tests import backend
from twin.traffic.paths import THREAD_ENV

for _key, _value in THREAD_ENV.items():  # as `civic` does, before any parallel loop runs
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
#: Failing examples Hypothesis found, kept in the repository so every run replays them.
HYPOTHESIS_DB = ROOT / "tests" / "hypothesis-db"


def _hypothesis_profiles() -> None:
    """`ci` (the default): derandomised, a bounded number of examples, replaying the recorded
    failures read-only. `fuzz` (`make fuzz`): random and wide, recording new failures there.

    Hypothesis refuses `derandomize=True` and a database in one settings object (a fixed run
    should not depend on local state); here the database is the repository's own, so `ci`
    takes the database on top of a derandomised parent, and never writes to it."""
    fixed = hypothesis_settings(derandomize=True, deadline=None, print_blob=True,
                                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    recorded = DirectoryBasedExampleDatabase(HYPOTHESIS_DB)
    hypothesis_settings.register_profile(
        "ci", hypothesis_settings(fixed, database=ReadOnlyDatabase(recorded), max_examples=100)
    )
    hypothesis_settings.register_profile(
        "fuzz",
        derandomize=False,  # explicit: under CI=true Hypothesis's own default is derandomised
        deadline=None,
        database=recorded,
        max_examples=2000,
        print_blob=True,
        verbosity=Verbosity.normal,
        suppress_health_check=[HealthCheck.too_slow],
    )
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()
#: Test fixtures copied from ../shared/data (see tests/data/ATTRIBUTION.md).
TEST_DATA = ROOT / "tests" / "data"

BASE_METADATA: dict[str, Any] = {
    "title": {"fi": "Testiaineisto", "sv": "Testdata", "en": "Test data"},
    "description": {"fi": "Kuvaus", "en": "A dataset for tests"},
    "keywords": {"en": ["test"], "fi": ["testi"]},
    "themes": ["REGI"],
    "publisher": {
        "name": "Test city",
        "uri": "https://example.org/city",
        "type": "http://purl.org/adms/publishertype/LocalAuthority",
    },
    "contact": {"name": "Data team", "email": "data@example.org"},
    "license": "CC-BY-4.0",
    "license_url": "https://creativecommons.org/licenses/by/4.0/",
    "attribution": "Test city",
    "update_frequency": "monthly",
}


def spec_data(source: dict[str, Any], fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A complete, valid spec as a dict; tests override parts of it."""
    data: dict[str, Any] = {
        "metadata": copy.deepcopy(BASE_METADATA),
        "source": source,
        "schema": {"fields": fields, "geometry": extra.pop("geometry", "Point")},
    }
    if "primary_key" in extra:
        data["schema"]["primary_key"] = extra.pop("primary_key")
    data.update(extra)
    return data


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Write a dict as TOML (enough of TOML for our specs)."""
    path.write_text(_toml(data), encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8")) is not None
    return path


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        else:
            lines.append(f'"{key}" = {_value(value)}')
    out = "\n".join(lines) + "\n"
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, list):
            for item in value:
                out += f"\n[[{name}]]\n" + _toml(item, name)
        else:
            out += f"\n[{name}]\n" + _toml(value, name)
    return out


def pytest_configure(config: pytest.Config) -> None:
    """Refuse an unknown `CIVIC_TEST_BACKEND` before collecting anything."""
    if backend.BACKEND not in backend.BACKENDS:
        raise pytest.UsageError(
            f"CIVIC_TEST_BACKEND={backend.BACKEND!r}: expected one of {', '.join(backend.BACKENDS)}"
        )


@pytest.fixture(scope="session", autouse=True)
def test_backend(request: pytest.FixtureRequest) -> str:
    """The back end of the shared stores (tests/backend.py); on `pg-s3` this starts the
    session's PostgreSQL cluster and S3 server before any store is built."""
    if backend.remote():
        backend.start(request.getfixturevalue("postgres_admin"), request.getfixturevalue("s3_env"))
    return backend.BACKEND


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on an empty temporary store; sources may come from tmp_path or datasets/."""
    return Settings(
        data_dir=tmp_path / "data",
        datasets_dir=tmp_path / "specs",
        source_roots=(tmp_path, DATASETS),
    )


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled municipality ingested once into a temporary store (cf. Datasette's ds_client)."""
    from opendata.ingest.pipeline import ingest
    from opendata.ingest.specs import find_specs, load_spec

    data = tmp_path_factory.mktemp("bundled")
    cfg = backend.store_settings(data / "data", datasets_dir=DATASETS, source_roots=(DATASETS,))
    for path in find_specs(DATASETS).values():
        ingest(load_spec(path), cfg)
    return cfg


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """One throwaway PostgreSQL cluster per session (tests/postgres.py); its admin URL.

    Without server binaries the tests that need it are skipped locally and fail in CI."""
    from tests import postgres

    if postgres.server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries missing in CI: .ci/sysdeps.sh installs them")
        pytest.skip("PostgreSQL server binaries not installed (make sysdeps)")
    with postgres.cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    from tests import postgres

    return postgres.fresh_database(postgres_admin)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """`settings` once on the SQLite default and once on PostgreSQL (a fresh database)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    return Settings(
        data_dir=tmp_path / "data",
        datasets_dir=tmp_path / "specs",
        source_roots=(tmp_path, DATASETS),
        catalog_url=url,
    )


@pytest.fixture(scope="session")
def s3_env() -> Iterator[dict[str, str]]:
    """A moto S3 server for the session (tests/s3.py); the AWS_* variables are set meanwhile."""
    from tests import s3

    with s3.moto_server() as env:
        old = s3.apply(env)
        try:
            yield env
        finally:
            s3.restore(old)
