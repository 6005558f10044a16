"""The studio's strings (`translations/studio.json`: fi, sv, en), kept apart from the site's
catalogs so the studio can be translated and reviewed on its own; and the note a withdrawn
scenario's page shows."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from opendata.errors import NotFound
from opendata.store.catalog import Catalog

TEXTS = Path(__file__).with_name("translations") / "studio.json"


@lru_cache(maxsize=1)
def _texts() -> dict[str, dict[str, str]]:
    return json.loads(TEXTS.read_text(encoding="utf-8"))


def studio_text(lang: str) -> dict[str, str]:
    """The studio's strings in `lang` (English for a language the studio does not speak yet)."""
    texts = _texts()
    return {**texts["en"], **texts.get(lang, {})}


def withdrawn_note(catalog_url: str, name: str, lang: str) -> str | None:
    """ "Withdrawn on DATE" for a scenario whose results were withdrawn; None otherwise."""
    try:
        record = Catalog(catalog_url).dataset(f"scenario_{name[:40]}_totals", hidden=True)
    except NotFound:
        return None
    if record.kind != "withdrawn":
        return None
    return studio_text(lang)["withdrawn.detail"].format(date=record.updated_at[:10])
