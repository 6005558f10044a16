"""The result maps' words and numbers in one language. Words come from
`twin/data/map_texts.toml` (the twin cannot read the site's gettext catalogs: twin must not import
api); numbers go through Babel's CLDR data, so Finnish and Swedish maps write `1 234,5`."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel.numbers import format_decimal

from twin.data import HERE

#: The languages every map is written in (one file per language and kind).
MAP_LANGS = ("fi", "sv", "en")


@cache
def texts() -> dict[str, dict[str, dict[str, str]]]:
    """Every map text by section, key and language (read once)."""
    return tomllib.loads((HERE / "map_texts.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class MapText:
    """`t("flows.title")` and `num(1234.5, 1)` for one map language (`fi`, `sv`, `en`)."""

    lang: str = "en"

    def t(self, key: str, **values: Any) -> str:
        """The text of `section.key` in this language (English when missing), filled in."""
        section, name = key.split(".", 1)
        entry = texts()[section][name]
        return (entry.get(self.lang) or entry["en"]).format(**values)

    def has(self, key: str) -> bool:
        """Whether `section.key` is a known text (measure and edit names may be new)."""
        section, name = key.split(".", 1)
        return name in texts().get(section, {})

    def num(self, value: float, digits: int | None = None) -> str:
        """`value` with the language's separators; fewer decimals for bigger values.

        >>> MapText("fi").num(1234.56), MapText("en").num(1234.56), MapText("sv").num(2.5)
        ('1\\xa0235', '1,235', '2,5')
        """
        if value is None or not math.isfinite(value):
            return "–"
        if digits is None:
            digits = 0 if abs(value) >= 100 or value == int(value) else 1
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)
