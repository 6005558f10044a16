"""The dataset spec model: frozen dataclasses for one dataset's metadata, source, schema,
transforms, privacy decisions and quality threshold, and the vocabularies they draw on.
`opendata.ingest.specs` parses and checks TOML into these."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELD_TYPES = ("string", "integer", "float", "boolean", "date", "datetime")
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "any", "none")
PRIVACY_ACTIONS = ("drop", "hash", "allow")
#: EU Publications Office frequency codes (subset) accepted for `update_frequency`.
FREQUENCIES = (
    "continuous",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "annual",
    "irregular",
    "never",
    "unknown",
)
#: EU data themes (Publications Office data-theme NAL).
THEMES = (
    "AGRI",
    "ECON",
    "EDUC",
    "ENER",
    "ENVI",
    "GOVE",
    "HEAL",
    "INTR",
    "JUST",
    "OP_DATPRO",
    "REGI",
    "SOCI",
    "TECH",
    "TRAN",
)
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Agent:
    """A publisher or contact point."""

    name: str
    uri: str = ""
    email: str = ""
    type: str = ""


@dataclass(frozen=True)
class Metadata:
    """What a national portal needs to list the dataset (DCAT-AP mandatory + recommended)."""

    title: dict[str, str]
    description: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    themes: tuple[str, ...]
    publisher: Agent
    contact: Agent
    license: str
    license_url: str
    attribution: str
    update_frequency: str
    spatial: str
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Where the data comes from and how to read it; `options` are checked by the reader."""

    path: Path
    format: str
    crs: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: `path` as the spec writes it: what messages show (never a folder of the server).
    written: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One published column: its type, unit, meaning and constraints."""

    name: str
    type: str
    description: dict[str, str] = field(default_factory=dict)
    unit: str = ""
    required: bool = False
    unique: bool = False
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    estimate: bool = False


@dataclass(frozen=True)
class Schema:
    """The published columns, the key and the expected geometry."""

    fields: tuple[FieldSpec, ...]
    primary_key: str | None = None
    geometry: str = "any"
    #: Where the features must lie, lon/lat (west, south, east, north); None = the city's.
    extent: tuple[float, float, float, float] | None = None

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def describe(self) -> list[dict[str, Any]]:
        """The published columns as the catalog records them (name, type, unit, meaning...)."""
        keys = ("name", "type", "unit", "description", "required", "unique", "estimate")
        return [{k: getattr(f, k) for k in keys} for f in self.fields]


@dataclass(frozen=True)
class Transform:
    """One step of the transform list: a registered operation and its parameters."""

    op: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivacyDecision:
    """What to do with one column that holds (or may hold) personal data."""

    action: str
    reason: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A whole dataset spec, as loaded from `datasets/<name>.toml`."""

    name: str
    metadata: Metadata
    source: Source
    schema: Schema
    transforms: tuple[Transform, ...] = ()
    privacy: dict[str, PrivacyDecision] = field(default_factory=dict)
    max_reject_fraction: float = 0.0
    spec_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def fingerprint(self) -> str:
        """A stable hash of the spec's content (not its file path)."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()
