"""Reading published data: the way `twin` and other consumers get a dataset's current version."""

from __future__ import annotations

import geopandas as gpd

from opendata.settings import Settings
from opendata.store.catalog import Catalog, Version
from opendata.store.publish import version_path


def read_published(
    settings: Settings, name: str, version: int | None = None, *, columns: list[str] | None = None
) -> tuple[gpd.GeoDataFrame, Version]:
    """A published version (the current one by default) as a GeoDataFrame in EPSG:4326, with the
    catalog record that pins exactly which version was read."""
    record = Catalog(settings.catalog_url).version(name, version)
    frame = gpd.read_parquet(version_path(settings, record), columns=columns)
    return frame, record
