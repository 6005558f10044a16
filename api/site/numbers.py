"""Numbers as a reader of the page's language expects them (`1 234,5` in Finnish and Swedish,
`1,234.5` in English), through Babel's CLDR data rather than hand-made separators."""

from __future__ import annotations

from babel.numbers import format_decimal

#: Babel locales of the interface languages (Danish readers get Danish separators).
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB", "da": "da_DK"}


def format_number(value: float, lang: str, *, digits: int = 0, sign: bool = False) -> str:
    """`value` rounded to `digits` decimals in `lang`'s number format; `sign` adds a `+`.

    >>> format_number(1234.5, "fi", digits=1), format_number(1234.5, "en")
    ('1\\xa0234,5', '1,234')
    >>> format_number(3, "sv", sign=True)
    '+3'
    """
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    text = format_decimal(round(value, digits), format=pattern, locale=LOCALES.get(lang, "en_GB"))
    return "+" + text if sign and value > 0 else text


def with_unit(value: float, unit: str, lang: str, *, digits: int = 0) -> str:
    """A formatted value and its unit, joined by a no-break space (`54,3 dB`, `12 min`)."""
    text = format_number(value, lang, digits=digits)
    return f"{text}\u00a0{unit}" if unit else text
