"""Languages of the citizens' website: choosing one per request and translating the interface.

The UI language comes from `?lang=` (remembered in a cookie), else the cookie, else the browser's
`Accept-Language`, else English. Dataset metadata is shown in that language when the publisher
wrote it, otherwise in the first available language of the configured fallback order
(`Settings.lang_fallback`, `CIVIC_LANG_FALLBACK`, default "fi,sv,en": the city's own languages
first), by `opendata.metadata.languages.pick`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from werkzeug.datastructures import LanguageAccept

#: UI languages, in the order the switch shows them.
LANGUAGES = ("fi", "sv", "en", "da")
#: Each language's name in itself (what the switch shows).
NATIVE = {"fi": "Suomi", "sv": "Svenska", "en": "English", "da": "Dansk"}
DEFAULT = "en"
COOKIE = "civic_lang"
FOLDER = Path(__file__).with_name("translations")


@lru_cache(maxsize=len(LANGUAGES))
def messages(lang: str) -> dict[str, str]:
    """The message catalog of one language (`translations/<lang>.json`)."""
    return json.loads((FOLDER / f"{lang}.json").read_text(encoding="utf-8"))


def choose(asked: str | None, cookie: str | None, accept: LanguageAccept) -> str:
    """The UI language: an explicit `?lang=` wins, then the cookie, then `Accept-Language`.

    >>> choose(None, None, LanguageAccept([("sv-FI", 1), ("fi", 0.8)]))
    'sv'
    >>> choose("da", "fi", LanguageAccept([]))
    'da'
    """
    for code in (asked, cookie):
        if code in LANGUAGES:
            return code
    ranked = sorted(accept, key=lambda pair: -pair[1])
    for tag, quality in ranked:
        primary = tag.split("-")[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
        if primary in ("nb", "nn", "no") and quality > 0:  # Norwegians read Danish best
            return "da"
    return DEFAULT


class Translator:
    """`t("key", n=3)`: the message in this language (English, then the key, when missing)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = messages(lang)
        self.english = messages(DEFAULT)

    def __call__(self, key: str, **values: object) -> str:
        text = self.table.get(key) or self.english.get(key) or key
        return text.format(**values) if values else text

    def maybe(self, prefix: str, value: str) -> str:
        """A translated label for a code (`theme.TRAN`), or the code itself when unknown."""
        key = f"{prefix}.{value}"
        return self.table.get(key) or self.english.get(key) or value
