"""Languages: choosing one per request, metadata fallback, and complete message catalogs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import LanguageAccept

from api.site import i18n
from opendata.metadata.languages import pick
from opendata.settings import Settings

TEMPLATES = Path(i18n.__file__).with_name("templates") / "site"
CODE = Path(i18n.__file__).parent


@pytest.mark.parametrize(
    ("asked", "cookie", "accept", "expected"),
    [
        (None, None, [("sv-FI", 1.0), ("fi", 0.8)], "sv"),
        (None, None, [("de", 1.0), ("fi", 0.5)], "fi"),
        (None, None, [("nb", 1.0)], "da"),
        (None, None, [], "en"),
        (None, "fi", [("sv", 1.0)], "fi"),
        ("da", "fi", [("sv", 1.0)], "da"),
        ("xx", None, [("sv", 1.0)], "sv"),
        (None, "klingon", [("fr", 1.0)], "en"),
    ],
)
def test_language_is_chosen_by_query_then_cookie_then_accept_language(
    asked, cookie, accept, expected
):
    assert i18n.choose(asked, cookie, LanguageAccept(accept)) == expected


@pytest.mark.parametrize(
    ("texts", "lang", "expected"),
    [
        ({"fi": "Kadut", "sv": "Gator", "en": "Streets"}, "sv", ("Gator", "sv")),
        ({"fi": "Kadut", "en": "Streets"}, "da", ("Kadut", "fi")),
        ({"sv": "Gator", "en": "Streets"}, "da", ("Gator", "sv")),
        ({"en": "Streets"}, "fi", ("Streets", "en")),
        ({"de": "Straßen"}, "fi", ("Straßen", "de")),
        ({}, "fi", ("", "fi")),
        ("Streets", "fi", ("Streets", "en")),
    ],
)
def test_metadata_falls_back_fi_sv_en(texts, lang, expected):
    picked = pick(texts, lang, Settings().lang_fallback)
    assert (picked.text, picked.lang) == expected


def test_fallback_order_is_configurable():
    assert Settings.from_env({"CIVIC_LANG_FALLBACK": "en, sv,xx"}).lang_fallback == ("en", "sv")
    assert pick({"fi": "Kadut", "en": "Streets"}, "da", ("en", "fi")).text == "Streets"
    assert Settings.from_env({"CIVIC_LANG_FALLBACK": ""}).lang_fallback == ("fi", "sv", "en")


def test_every_language_has_the_same_messages():
    keys = {lang: set(i18n.messages(lang)) for lang in i18n.LANGUAGES}
    assert all(k == keys["en"] for k in keys.values())


def test_every_message_keeps_the_english_placeholders():
    english = i18n.messages("en")
    for lang in i18n.LANGUAGES:
        for key, text in i18n.messages(lang).items():
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", english[key]))


def test_every_literal_message_key_used_exists():
    used = set()
    for path in [*TEMPLATES.rglob("*.html"), *CODE.glob("pages*.py")]:
        used |= set(
            re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']\s*[,)]""", path.read_text())
        )
    assert used, "no message keys found"
    assert used - set(i18n.messages("en")) == set()


def test_catalogs_are_valid_json_objects_of_strings():
    for lang in i18n.LANGUAGES:
        data = json.loads((i18n.FOLDER / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(isinstance(v, str) and v for v in data.values())
