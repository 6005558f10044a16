"""Multilingual metadata: a text in the language asked for, else in a fallback order, else in
whatever language the publisher wrote, always with the language it is actually in (so pages can
mark it with `lang`). The one place this rule lives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """A piece of metadata in the language it is written in."""

    text: str
    lang: str


def pick(texts: Mapping[str, str] | str | None, lang: str, order: Iterable[str] = ("en",)) -> Text:
    """`texts[lang]`, else the first language of `order` present, else any; '' when empty.
    A plain string is taken to be English.

    >>> pick({"fi": "Kadut", "en": "Streets"}, "sv", ("fi", "sv", "en"))
    Text(text='Kadut', lang='fi')
    >>> pick({"sv": "Gator"}, "en")
    Text(text='Gator', lang='sv')
    >>> pick("Roads", "fi", ())
    Text(text='Roads', lang='en')
    """
    if not texts:
        return Text("", lang)
    if isinstance(texts, str):
        return Text(texts, "en")
    for code in (lang, *order):
        if texts.get(code):
            return Text(texts[code], code)
    code, text = next(((c, t) for c, t in texts.items() if t), (lang, ""))
    return Text(text, code)
