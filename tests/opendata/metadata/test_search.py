"""Catalog search: Finnish and Swedish stemming, relevance, title and date sorts (no Flask)."""

from __future__ import annotations

import pytest

from opendata.metadata.search import Entry, SearchQuery, entry, search, variants
from opendata.store.catalog import Dataset, Version


def _entry(name: str, title: dict[str, str], modified: str = "2026-01-01T00:00:00Z") -> Entry:
    version = Version(
        name, 1, "0" * 64, f"{name}.parquet", 10, None, None, [], {}, {}, 100, modified
    )
    spec = {"metadata": {"title": title, "description": {"en": f"About {name}"}}}
    created = "2026-01-01T00:00:00Z"
    return entry(Dataset(name, spec, "dataset", 1, created, created), version)


ITEMS = [
    _entry("bike_paths", {"fi": "Pyörätie", "sv": "Cykelväg", "en": "Cycle path"}, "2026-03-01"),
    _entry("parking", {"fi": "Pysäköinti", "sv": "Parkering", "en": "Parking"}, "2026-02-01"),
    _entry("roads", {"fi": "Katuverkko", "sv": "Gatunät", "en": "Street network"}, "2026-01-01"),
]


def _names(q: str = "", **kwargs) -> list[str]:
    return [i.name for i in search(ITEMS, SearchQuery(q=q, **kwargs)).items]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pyörätiet", ["bike_paths"]),  # Finnish plural finds the singular
        ("pyoratiet", ["bike_paths"]),  # typed without the dots
        ("parkeringar", ["parking"]),  # Swedish plural finds the singular
        ("cykelvägar", ["bike_paths"]),
        ("katu", ["roads"]),  # a prefix still finds a compound
        ("parkeringar pyörätiet", []),  # every word must match
    ],
)
def test_finnish_and_swedish_words_find_their_stems(q, expected):
    assert _names(q) == expected


def test_a_stem_never_matches_a_short_unrelated_word():
    assert all(len(form) >= 4 for form in variants("on")[0] - {"on"})


def test_the_word_itself_ranks_above_a_stem_of_it():
    items = [
        _entry("a_stem", {"sv": "Parkering"}),
        _entry("b_exact", {"sv": "Parkeringar"}),
    ]
    ranked = search(items, SearchQuery(q="parkeringar", sort="relevance")).items
    assert [i.name for i in ranked] == ["b_exact", "a_stem"]


def test_title_sort_follows_the_readers_language():
    assert _names(sort="title", lang="fi") == ["roads", "bike_paths", "parking"]
    assert _names(sort="title", lang="sv") == ["bike_paths", "roads", "parking"]
    assert _names(sort="title", lang="en") == ["bike_paths", "parking", "roads"]


def test_date_sort_is_newest_first():
    assert _names(sort="date") == ["bike_paths", "parking", "roads"]
