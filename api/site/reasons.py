"""Quarantine reasons of a quality report in the page's language. The ingest pipeline writes them
in English for operators (`opendata/ingest/validate.py`, `rules.py`); the known shapes are
matched here and translated, anything else is shown as written and marked `lang="en"`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.site.i18n import N_, Translator

#: (pattern of an English reason, message key); named groups fill the message's placeholders.
PATTERNS = (
    (r"column '(?P<column>[^']+)': required value is missing", N_("reason.required")),
    (r"column '(?P<column>[^']+)': value not in allowed list", N_("reason.allowed")),
    (r"column '(?P<column>[^']+)': below minimum (?P<limit>\S+)", N_("reason.minimum")),
    (r"column '(?P<column>[^']+)': above maximum (?P<limit>\S+)", N_("reason.maximum")),
    (r"column '(?P<column>[^']+)': duplicate value \(must be unique\)", N_("reason.unique")),
    (r"column '(?P<column>[^']+)': not a valid (?P<type>\w+)", N_("reason.type")),
    (r"geometry is missing or empty", N_("reason.no_geometry")),
    (r"geometry is not a (?P<geometry>\w+)", N_("reason.geometry_kind")),
    (r"coordinates outside the area of use of (?P<crs>.+)", N_("reason.crs_area")),
    (r"coordinates outside (?P<extent>.+)", N_("reason.extent")),
)


@dataclass(frozen=True)
class Reason:
    """One quarantine reason, in the language it is written in, with its row count."""

    text: str
    lang: str
    rows: int


def translate(reason: str, rows: int, t: Translator) -> Reason:
    """`reason` in the page language when its shape is known, else as written (English).

    >>> translate("geometry is missing or empty", 3, Translator("fi")).text
    'geometria puuttuu tai on tyhjä'
    >>> translate("something new", 1, Translator("fi")).lang
    'en'
    """
    for pattern, key in PATTERNS:
        match = re.fullmatch(pattern, reason)
        if match:
            return Reason(t(key, **match.groupdict()), t.lang, rows)
    return Reason(reason, "en", rows)
