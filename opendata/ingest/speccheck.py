"""Checks shared by every declarative spec (datasets, scenarios): each failure names the key path
and what was expected, e.g. `schema.fields[3].type: expected one of string, ..., got 'text'`."""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from opendata.errors import SpecError

LANGS = ("sv", "fi", "en", "da", "no", "nb", "nn", "is", "et", "de")


def fail(path: str, expected: str, got: object) -> SpecError:
    shown = repr(got) if not isinstance(got, dict) else "a table"
    return SpecError(f"{path}: expected {expected}, got {shown}")


def check_keys(data: Mapping[str, Any], path: str, allowed: set[str], required: set[str]) -> None:
    for key in data:
        if key not in allowed:
            hint = closest(key, allowed)
            where = f"{path}.{key}" if path else key
            raise SpecError(
                f"{where}: unknown key{hint}; allowed here: {', '.join(sorted(allowed))}"
            )
    for key in sorted(required):
        if key not in data:
            where = f"{path}.{key}" if path else key
            raise SpecError(f"{where}: required key is missing")


def closest(key: str, allowed: set[str]) -> str:
    match = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def string(data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise fail(f"{path}.{key}" if path else key, "a string", value)
    return value


def number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, "a number", value)
    return float(value)


def boolean(data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"{path}.{key}", "true or false", value)
    return value


def text(value: object, path: str) -> dict[str, str]:
    """A multilingual text: a table of language code -> string (a bare string means English)."""
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, dict) or not value:
        raise fail(path, "a table of language -> text, e.g. {fi = '...', en = '...'}", value)
    for lang, text in value.items():
        if lang not in LANGS:
            raise SpecError(f"{path}.{lang}: unknown language code; use one of {', '.join(LANGS)}")
        if not isinstance(text, str) or not text.strip():
            raise fail(f"{path}.{lang}", "a non-empty string", text)
    return dict(value)


def choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise fail(path, f"one of {', '.join(choices)}", value)
    return str(value)


def check_path_text(value: str, path: str) -> str:
    """Refuse a file path with a control character (NUL, tab, newline...), which no real file
    name has and which the operating system refuses or misreads."""
    for i, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            name = _CONTROL_NAMES.get(ord(char), "a control character")
            raise SpecError(
                f"{path}: contains an invisible control character (U+{ord(char):04X}, {name}) at "
                f"position {i + 1}; type the file name again without it"
            )
    if not value.strip():
        raise SpecError(f"{path}: is empty; give the source file's path")
    return value


_CONTROL_NAMES = {
    0: "NUL",
    9: "TAB",
    10: "LINE FEED",
    13: "CARRIAGE RETURN",
    27: "ESCAPE",
    127: "DELETE",
}


def lonlat_box(value: object, path: str) -> tuple[float, float, float, float]:
    """A `[west, south, east, north]` box in degrees (lon/lat), west < east and south < north."""
    if not isinstance(value, list) or len(value) != 4:
        raise fail(
            path, "[west, south, east, north] in degrees, e.g. [24.8, 60.1, 25.3, 60.3]", value
        )
    west, south, east, north = (number(v, f"{path}[{i}]") for i, v in enumerate(value))
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise SpecError(f"{path}: the four numbers must be finite")
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise SpecError(
            f"{path}: expected west < east (within -180..180) and south < north (within "
            f"-90..90) in degrees, got {[west, south, east, north]}"
        )
    return west, south, east, north
