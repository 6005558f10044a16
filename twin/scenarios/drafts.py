"""Drafts of scenario results: a run submitted by a user is published as catalog kind `draft`
(stored like any result, hidden from every public read), then published with titles in the
city's languages, or deleted with its files; a published result can be withdrawn (kind
`withdrawn`: gone from listings and feeds, versions kept for the record)."""

from __future__ import annotations

import shutil
import tomllib
from typing import Any

from opendata.errors import NotFound
from opendata.settings import Settings
from opendata.store.catalog import Catalog, Dataset
from opendata.store.publish import dataset_dir
from twin.data import HERE
from twin.scenarios.maps import map_dir
from twin.scenarios.results import PARTS

LANGS = ("fi", "sv", "en")  #: titles a publication needs


def _parts(catalog: Catalog, name: str) -> list[Dataset]:
    out = []
    for part in PARTS:
        try:
            out.append(catalog.dataset(f"scenario_{name}_{part}", hidden=True))
        except NotFound:
            continue
    return out


def state(settings: Settings, name: str) -> str | None:
    """The catalog kind of scenario `name`'s results (`scenario`, `draft`, `withdrawn`), if any."""
    parts = _parts(Catalog(settings.catalog_url), name)
    return parts[0].kind if parts else None


def publish_draft(
    settings: Settings, name: str, title: dict[str, str], description: dict[str, str]
) -> int:
    """Make a draft's results open data, titled in fi/sv/en; returns how many parts."""
    catalog = Catalog(settings.catalog_url)
    described = tomllib.loads((HERE / "scenario_datasets.toml").read_text(encoding="utf-8"))
    parts = [d for d in _parts(catalog, name) if d.kind == "draft"]
    for dataset in parts:
        info = described[dataset.name.rsplit("_", 1)[1]]
        spec = _retitled(dataset.spec, info, title, description)
        catalog.set_kind(dataset.name, "scenario", spec=spec)
    return len(parts)


def _retitled(
    spec: dict[str, Any], info: dict[str, Any], title: dict[str, str], description: dict[str, str]
) -> dict[str, Any]:
    metadata = dict(spec.get("metadata", {}))
    metadata["title"] = {
        k: f"{title[k]}: {info['title'].get(k, info['title']['en'])}" for k in title
    }
    if description:
        metadata["description"] = {k: f"{v} {info['description']}" for k, v in description.items()}
    return {**spec, "metadata": metadata}


def withdraw(settings: Settings, name: str) -> int:
    """Hide a published result from every listing and feed; versions stay on disk."""
    catalog = Catalog(settings.catalog_url)
    parts = [d for d in _parts(catalog, name) if d.kind == "scenario"]
    for dataset in parts:
        catalog.set_kind(dataset.name, "withdrawn")
    return len(parts)


def delete_draft(settings: Settings, name: str) -> int:
    """Delete a draft's catalog rows, version files and maps; returns how many parts."""
    catalog = Catalog(settings.catalog_url)
    parts = [d for d in _parts(catalog, name) if d.kind == "draft"]
    for dataset in parts:
        catalog.forget(dataset.name)
        shutil.rmtree(dataset_dir(settings, dataset.name), ignore_errors=True)
    if parts:
        shutil.rmtree(map_dir(settings, name), ignore_errors=True)
    return len(parts)
