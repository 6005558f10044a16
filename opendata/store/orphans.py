"""Files no catalog row names: versions whose publish was killed after its files were written
and before the catalog commit (never visible, but they take space), and on object storage basemap
tiles that are no longer current. Each dataset is checked
under its publication lock, so a publish in progress on another host is never mistaken for one.
"""

from __future__ import annotations

import shutil

from opendata.settings import Settings
from opendata.store import objects, tiles_store
from opendata.store.catalog import Catalog
from opendata.store.publish import dataset_lock


def _committed(catalog: Catalog, name: str) -> set[str]:
    return {f"datasets/{name}/v{v.version}" for v in catalog.versions(name)}


def _local_prefixes(settings: Settings) -> list[str]:
    root = settings.store_dir / "datasets"
    if not root.is_dir():
        return []
    return sorted(
        f"datasets/{d.parent.name}/{d.name}"
        for d in root.glob("*/*")
        if d.is_dir() and (d.name.startswith(".tmp-") or d.name[1:].isdigit())
    )


def find_orphans(settings: Settings, *, delete: bool = False) -> list[str]:
    """Version prefixes (`datasets/<name>/v<n>`, or local staging folders) the catalog does not
    name; with `delete`, each is removed under its dataset's lock."""
    catalog = Catalog(settings.catalog_url)
    remote = settings.store_is_remote
    found = objects.version_prefixes(settings.store_url) if remote else _local_prefixes(settings)
    orphans = []
    for name in sorted({p.split("/")[1] for p in found}):
        with dataset_lock(settings, name):
            current = objects.version_prefixes(settings.store_url) if remote else found
            committed = _committed(catalog, name)
            mine = [p for p in current if p.split("/")[1] == name and p not in committed]
            for prefix in mine if delete else []:
                if remote:
                    objects.delete_prefix(settings.store_url, prefix)
                else:
                    shutil.rmtree(settings.store_dir / prefix, ignore_errors=True)
            orphans += mine
    if remote:  # superseded basemap tiles, or an upload killed before its record
        orphans += tiles_store.orphan_prefixes(settings, delete=delete)
    return orphans
