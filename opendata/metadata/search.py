"""Catalog entries, full-text search and facets over the current datasets (no Flask).

An `Entry` is the flat, publication-ready view of a dataset and its current version that the
catalog API, DCAT-AP and CKAN all render. Search folds case and accents, so "katu" finds
"Katuverkko" and "vagar" or "vägar" find "Gator och vägar", and tries each query word's Finnish,
Swedish and English Snowball stem (PyStemmer), so "pyörätiet" finds "pyörätie" and "parkeringar"
finds "parkering"; every query word must match.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import Stemmer

from opendata.metadata.languages import pick
from opendata.store.catalog import Catalog, Dataset, Version
from opendata.store.exports import formats_for, is_spatial

#: Namespace of the stable dataset identifiers (uuid5 of the dataset name).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:civic-platform:dataset")
FACETS = ("theme", "publisher", "license", "format", "keyword", "kind")
SORTS = ("relevance", "date", "name", "title")
#: Snowball stemmers for the city's languages; a stem shorter than this is not tried.
STEMMERS = ("finnish", "swedish", "english")
MIN_STEM = 4
MAX_LIMIT = 1000
#: Field weights for relevance: a title hit counts more than a keyword or description hit.
WEIGHTS = {"title": 3.0, "keywords": 2.0, "description": 1.0, "name": 3.0}
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "đ": "d", "ð": "d", "þ": "th", "ł": "l"})


def dataset_uuid(name: str) -> str:
    """The stable UUID of a dataset (the same in DCAT `dct:identifier` and CKAN `id`).

    >>> dataset_uuid("roads") == dataset_uuid("roads")
    True
    """
    return str(uuid.uuid5(NAMESPACE, name))


def fold(text: str) -> str:
    """Lower-case and strip accents, for matching.

    >>> fold("Gator och VÄGAR"), fold("Øresund")
    ('gator och vagar', 'oresund')
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Entry:
    """A dataset with its current version, flattened for rendering."""

    name: str
    id: str
    kind: str
    title: dict[str, str]
    description: dict[str, str]
    keywords: dict[str, list[str]]
    themes: list[str]
    publisher: dict[str, str]
    contact: dict[str, str]
    license: str
    license_url: str
    attribution: str
    update_frequency: str
    spatial: str
    issued: str
    modified: str
    version: Version
    formats: list[str] = field(default_factory=list)

    @property
    def all_keywords(self) -> list[str]:
        """Every keyword once, in spec order across languages."""
        return list(dict.fromkeys(k for words in self.keywords.values() for k in words))

    def label(self, lang: str = "en") -> str:
        """The title in `lang`, else English, else any."""
        return pick(self.title, lang).text or self.name


def entry(dataset: Dataset, version: Version) -> Entry:
    """Flatten a catalog dataset + version into an `Entry`."""
    meta = dataset.spec.get("metadata", {})

    def text(key: str) -> dict[str, str]:
        value = meta.get(key, {})
        return {"en": value} if isinstance(value, str) else dict(value)

    return Entry(
        name=dataset.name,
        id=dataset_uuid(dataset.name),
        kind=dataset.kind,
        title=text("title") or {"en": dataset.name},
        description=text("description"),
        keywords={lang: list(words) for lang, words in meta.get("keywords", {}).items()},
        themes=list(meta.get("themes", [])),
        publisher=dict(meta.get("publisher", {})),
        contact=dict(meta.get("contact", {})),
        license=str(meta.get("license", "")),
        license_url=str(meta.get("license_url", "")),
        attribution=str(meta.get("attribution", "")),
        update_frequency=str(meta.get("update_frequency", "")),
        spatial=str(meta.get("spatial", "")),
        issued=dataset.created_at,
        modified=version.created_at,
        version=version,
        formats=[f.label for f in formats_for(is_spatial(version))],
    )


def entries(catalog: Catalog) -> list[Entry]:
    """An entry for every dataset (and scenario result) with a published version."""
    return [entry(d, v) for d, v in catalog.current()]


def facet_values(item: Entry, facet: str) -> list[str]:
    """The values `item` has for a facet (each counted once)."""
    values = {
        "theme": item.themes,
        "publisher": [item.publisher.get("name", "")],
        "license": [item.license],
        "format": item.formats,
        "keyword": item.all_keywords,
        "kind": [item.kind],
    }[facet]
    return [v for v in dict.fromkeys(values) if v]


@dataclass(frozen=True)
class SearchQuery:
    """A catalog search: free text, facet filters (all must hold), sort and page."""

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = ""
    limit: int = 10
    offset: int = 0
    lang: str = "en"  #: the language whose titles `sort="title"` orders by
    fallback: tuple[str, ...] = ("en",)  #: where a title is missing in `lang` (as `pick`)

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown filter {sorted(unknown)[0]!r}; use {', '.join(FACETS)}")
        if self.sort and self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        if not 0 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 0 and {MAX_LIMIT}")
        if self.offset < 0:
            raise ValueError("offset must be 0 or more")


@dataclass(frozen=True)
class SearchResult:
    """One page of matches, the total, and facet counts over all matches."""

    total: int
    items: list[Entry]
    facets: dict[str, list[tuple[str, int]]]


def terms(q: str) -> list[str]:
    """The folded words of a query.

    >>> terms("Katu-verkko  VÄGAR")
    ['katu', 'verkko', 'vagar']
    """
    return re.findall(r"\w+", fold(q))


@lru_cache(maxsize=len(STEMMERS))
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def variants(q: str) -> list[frozenset[str]]:
    """Per query word: the folded word and its Finnish, Swedish and English stems (folded,
    at least `MIN_STEM` letters), any of which may match.

    >>> sorted(variants("pyörätiet")[0]), sorted(variants("Parkeringar")[0])
    (['pyoratie', 'pyoratiet'], ['parkering', 'parkeringar'])
    """
    out = []
    for word in re.findall(r"\w+", q.casefold()):
        stems = {_stemmer(lang).stemWord(word) for lang in STEMMERS}
        out.append(frozenset({fold(word)} | {fold(s) for s in stems if len(s) >= MIN_STEM}))
    return out


def score(item: Entry, words: list[frozenset[str]] | list[str]) -> float:
    """Relevance of `item` for the query words (each a word or its set of variants); 0 when
    some word matches nowhere. The word itself counts more than a stem of it."""
    fields = {
        "name": fold(item.name),
        "title": fold(" ".join(item.title.values())),
        "keywords": fold(" ".join(item.all_keywords)),
        "description": fold(" ".join(item.description.values())),
    }
    total = 0.0
    for word in words:
        forms = {word} if isinstance(word, str) else word
        best = max(forms, key=len)  # the word itself; its stems are shorter
        hits = [
            WEIGHTS[key]
            * (1.5 if any(re.search(rf"\b{re.escape(f)}", text) for f in forms) else 1.0)
            * (1.0 if best in text else 0.8)
            for key, text in fields.items()
            if any(f in text for f in forms)
        ]
        if not hits:
            return 0.0
        total += sum(hits)
    return total


def _matches_filters(item: Entry, filters: dict[str, tuple[str, ...]]) -> bool:
    for facet, wanted in filters.items():
        have = {fold(v) for v in facet_values(item, facet)}
        if not all(fold(w) in have for w in wanted):
            return False
    return True


def facet_counts(items: list[Entry], facet: str) -> list[tuple[str, int]]:
    """(value, count) pairs, most frequent first, then alphabetical."""
    counts = Counter(v for item in items for v in facet_values(item, facet))
    return sorted(counts.items(), key=lambda kv: (-kv[1], fold(kv[0])))


def search(items: list[Entry], query: SearchQuery) -> SearchResult:
    """Filter, rank, facet and page `items`."""
    words = variants(query.q)
    scored = [
        (score(i, words) if words else 0.0, i) for i in items if _matches_filters(i, query.filters)
    ]
    if words:
        scored = [(s, i) for s, i in scored if s > 0]
    sort = query.sort or ("relevance" if words else "name")
    if sort == "relevance":
        scored.sort(key=lambda si: (-si[0], si[1].name))
    elif sort == "date":  # newest first, ties by name
        scored.sort(key=lambda si: si[1].name)
        scored.sort(key=lambda si: si[1].modified, reverse=True)
    elif sort == "title":  # by the title a reader of `lang` sees, accents folded
        title = lambda item: pick(item.title, query.lang, query.fallback).text  # noqa: E731
        scored.sort(key=lambda si: (fold(title(si[1])), si[1].name))
    else:
        scored.sort(key=lambda si: si[1].name)
    matched = [i for _, i in scored]
    page = matched[query.offset : query.offset + query.limit]
    return SearchResult(len(matched), page, {f: facet_counts(matched, f) for f in FACETS})


def summary(item: Entry) -> dict[str, Any]:
    """The JSON summary of an entry used in listings."""
    return {
        "name": item.name,
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "keywords": item.keywords,
        "themes": item.themes,
        "publisher": item.publisher,
        "license": item.license,
        "license_url": item.license_url,
        "attribution": item.attribution,
        "update_frequency": item.update_frequency,
        "issued": item.issued,
        "modified": item.modified,
        "version": item.version.version,
        "rows": item.version.rows,
        "bbox": item.version.bbox,
        "formats": item.formats,
    }
