"""Languages of the citizens' website: choosing one per request and translating the interface.

The UI language comes from `?lang=` (remembered in a cookie), else the cookie, else the browser's
`Accept-Language`, else English. Dataset metadata is shown in that language when the publisher
wrote it, otherwise in the first available language of the configured fallback order
(`Settings.lang_fallback`, `CIVIC_LANG_FALLBACK`, default "fi,sv,en": the city's own languages
first), by `opendata.metadata.languages.pick`.

Messages live in gettext catalogs (`translations/<lang>/LC_MESSAGES/messages.po`, compiled to the
committed `.mo`; `make i18n-extract`, `make i18n-check`). A message id is a stable key
(`nav.datasets`); counted messages have plural forms (`card.rows`, `card.rows_plural`). Numbers
given to a message are written the locale's way (CLDR, through Babel).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import has_request_context, request
from werkzeug.datastructures import LanguageAccept

from api.site.formats import Formatter

#: UI languages, in the order the switch shows them.
LANGUAGES = ("fi", "sv", "en", "da")
#: Each language's name in itself (what the switch shows).
NATIVE = {"fi": "Suomi", "sv": "Svenska", "en": "English", "da": "Dansk"}
DEFAULT = "en"
COOKIE = "civic_lang"
FOLDER = Path(__file__).with_name("translations")
DOMAIN = "messages"
#: The plural message id of a counted message is its key with this suffix.
PLURAL = "_plural"


def N_(key: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction, translate later"
    """Mark a message key built elsewhere, so `make i18n-extract` finds it."""
    return key


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> NullTranslations:
    """The compiled catalog of one language (`translations/<lang>/LC_MESSAGES/messages.mo`)."""
    return Translations.load(str(FOLDER), [lang], domain=DOMAIN)


@lru_cache(maxsize=len(LANGUAGES))
def messages(lang: str) -> dict[str, str]:
    """Every message of a language's `.po` source by key (a plural message: its other form)."""
    with (FOLDER / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        source = read_po(po, locale=lang)
    return {
        str(m.id if isinstance(m.id, str) else m.id[0]): str(
            m.string if isinstance(m.string, str) else m.string[-1]
        )
        for m in source
        if m.id
    }


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
    """`t("key", n=3)`: the message in this language (English, then the key, when missing), in
    its plural form for `n`, with numbers written the locale's way."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = catalog(lang)
        self.english = catalog(DEFAULT)
        self.fmt = Formatter(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = self._lookup(key, values.get("n"))
        if not values:
            return text
        return text.format(**{k: self._shown(v) for k, v in values.items()})

    def _lookup(self, key: str, n: object) -> str:
        counted = isinstance(n, int | float) and not isinstance(n, bool)
        for table in (self.table, self.english):
            if counted:
                text = table.ngettext(key, key + PLURAL, n)  # type: ignore[arg-type]
                if text not in (key, key + PLURAL):
                    return text
            text = table.gettext(key)
            if text != key:
                return text
        return key

    def _shown(self, value: object) -> object:
        """Numbers in the locale's way (`12 345`, `2,5`); anything else as it is."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        return self.fmt.integer(value) if isinstance(value, int) else self.fmt.short(value)

    def maybe(self, prefix: str, value: str) -> str:
        """A translated label for a code (`theme.TRAN`), or the code itself when unknown."""
        key = f"{prefix}.{value}"
        text = self._lookup(key, None)
        return value if text == key else text


def core_chrome() -> dict[str, Translator]:
    """`core_t`, a translator in the request's language, for templates whose routes live outside
    the site (the OpenAPI page of `api.ogc`), so their own chrome is translated too."""
    if not has_request_context():
        return {"core_t": Translator(DEFAULT)}
    asked, cookie = request.args.get("lang"), request.cookies.get(COOKIE)
    return {"core_t": Translator(choose(asked, cookie, request.accept_languages))}
