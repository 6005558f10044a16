"""Numbers, percentages and dates in the page's language, with CLDR's rules through Babel: Finnish
and Swedish write `2,41` and `12 345`, English `2.41` and `12,345`; dates read "7.12.2026" or
"7 dec. 2026" rather than ISO strings. Templates reach this as `site.fmt`."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from babel import Locale
from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal, format_percent

#: Shown for a missing or non-finite number, in every language.
MISSING = "–"


def _parse_day(stamp: str) -> date | None:
    """The date of an ISO timestamp or date string; None when it is not one."""
    try:
        return date.fromisoformat(stamp[:10])
    except (TypeError, ValueError):
        return None


class Formatter:
    """Locale-aware formatting for one page language (`fi`, `sv`, `en`, `da`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)

    def number(self, value: float | None, digits: int | None = None) -> str:
        """A readable number: fewer decimals for bigger values, the locale's separators.

        >>> Formatter("fi").number(2.0), Formatter("en").number(15806.0)
        ('2,00', '15,806')
        """
        if value is None or not math.isfinite(value):
            return MISSING
        if digits is None:
            digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def integer(self, value: int | float | None) -> str:
        """A whole number with the locale's grouping (`12 345` in Finnish)."""
        return self.number(value, 0)

    def short(self, value: float | None) -> str:
        """A number with at most three decimals and no trailing zeros (`2,5`, `10`)."""
        if value is None or not math.isfinite(value):
            return MISSING
        return format_decimal(value, locale=self.locale)

    def signed(self, value: float | None, digits: int = 0) -> str:
        """A change with its sign (`+12`, `−3,5`)."""
        if value is None or not math.isfinite(value):
            return MISSING
        text = self.number(abs(value), digits)
        return ("+" if value > 0 else "−" if value < 0 else "") + text

    def with_unit(self, value: float | None, unit: str, digits: int | None = None) -> str:
        """A formatted value and its unit joined by a no-break space (`54,3 dB`, `1 200 autoa/h`).

        >>> Formatter("fi").with_unit(54.31, "dB", 1)
        '54,3\xa0dB'
        """
        text = self.number(value, digits)
        return f"{text}\u00a0{unit}" if unit and text != MISSING else text

    def percent(self, value: float | None, digits: int = 0) -> str:
        """A share given in percent (`12.5` → `12,5 %` in Finnish, `12.5%` in English)."""
        if value is None or not math.isfinite(value):
            return MISSING
        base = self.locale.percent_formats[None].pattern  # e.g. "#,##0 %" in Finnish
        pattern = base.replace("#,##0", "#,##0" + ("." + "0" * digits if digits else ""), 1)
        return format_percent(value / 100, format=pattern, locale=self.locale)

    def date(self, stamp: str | None) -> str:
        """An ISO date or timestamp as the locale writes a date (`7.12.2026` in Finnish)."""
        day = _parse_day(stamp or "")
        return format_date(day, format="medium", locale=self.locale) if day else (stamp or "")

    def ago(self, stamp: str | None, now: datetime | None = None) -> str:
        """How long ago an ISO timestamp was ("3 päivää", "2 veckor"), for "updated …" lines."""
        day = _parse_day(stamp or "")
        if day is None:
            return ""
        today = (now or datetime.now(UTC)).date()
        delta = day - today
        return format_timedelta(delta, add_direction=True, locale=self.locale)
