"""Packaging facts the deployment relies on: every dependency the product and its `postgres`,
`s3`, `redis` and `dev` extras name is pinned in requirements.lock (which CI and the Dockerfile
install from), and the compose file starts the topology docs/deployment.md describes."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_lock_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("postgres", "s3", "redis", "dask", "dev"):
        wanted |= {_name(r) for r in extras[extra] if not r.startswith("civic-platform")}
    lines = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pinned = {_name(line) for line in lines if "==" in line}
    assert sorted(wanted - pinned) == []


def test_the_core_install_leaves_server_side_extras_out():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_name(r) for r in project["dependencies"]}
    assert core.isdisjoint({"dask", "psycopg", "obstore", "redis", "fsspec"})


def test_compose_starts_the_documented_topology():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]
    assert {"db", "s3", "migrate", "api-1", "api-2", "worker", "proxy"} <= set(services)
    env = services["api-1"]["environment"]
    assert env["CIVIC_CATALOG_URL"].startswith("postgresql+psycopg://")
    assert env["CIVIC_STORE_URL"].startswith("s3://")
    assert env["CIVIC_TRUSTED_PROXIES"] == "1"
    assert "civic db upgrade" in " ".join(services["migrate"]["command"])
