"""Who may read a draft's results: its owner and admins, at the same URLs as published data
(site dataset page, OGC collection and items, downloads). Everyone else gets the 404 a missing
dataset gets, and drafts stay out of every listing and feed; an answer that carries a draft is
marked private, so no shared cache keeps it and no other user is served it."""

from __future__ import annotations

from flask import Response, current_app, g

from api.auth.access import current_user
from opendata.errors import NotFound
from opendata.store.catalog import Catalog, Dataset, Version
from twin.jobs import queue
from twin.scenarios.model import NAME_RE
from twin.scenarios.results import PARTS

PRIVATE = "private, no-store"


def scenario_of(dataset: str) -> str | None:
    """The scenario a result dataset belongs to (`scenario_<name>_<part>`), else None.

    >>> scenario_of("scenario_bridge_closed_links"), scenario_of("roads")
    ('bridge_closed', None)
    """
    stem, _, part = dataset.removeprefix("scenario_").rpartition("_")
    if not dataset.startswith("scenario_") or part not in PARTS or not NAME_RE.match(stem):
        return None
    return stem


def readable_draft(name: str) -> tuple[Dataset, Version] | None:
    """Draft dataset `name` with its current version when the caller owns it or is an admin,
    else None (also for a withdrawn or unknown dataset). Marks this response private."""
    scenario, user = scenario_of(name), current_user()
    if scenario is None or user is None:
        return None
    settings = current_app.config["CIVIC_SETTINGS"]
    catalog = Catalog(settings.catalog_url)
    try:
        dataset = catalog.dataset(name, hidden=True)
        version = catalog.version(name, None, hidden=True)
    except NotFound:
        return None
    if dataset.kind != "draft":
        return None
    if not user.may("others") and user.name not in queue.owners_of(settings, scenario):
        return None
    g.civic_private = True
    return dataset, version


def readable_version(name: str, number: int | None) -> Version | None:
    """Version `number` (None: the current one) of a draft the caller may read, else None."""
    if readable_draft(name) is None:
        return None
    settings = current_app.config["CIVIC_SETTINGS"]
    try:
        return Catalog(settings.catalog_url).version(name, number, hidden=True)
    except NotFound:
        return None


def keep_private(resp: Response) -> Response:
    """After a request that served a draft: no shared cache, and none keyed without the user."""
    if g.get("civic_private"):
        resp.headers["Cache-Control"] = PRIVATE
        resp.vary.update(("Authorization", "Cookie"))
    return resp
