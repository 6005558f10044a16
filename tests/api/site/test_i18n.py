"""Languages: choosing one per request, metadata fallback, and complete message catalogs."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from werkzeug.datastructures import LanguageAccept

from api.site import i18n
from api.site.catalog import PAGE_FACETS, PAGE_SORTS
from api.site.scenario import KEY_METRICS
from opendata.metadata.languages import pick
from opendata.settings import Settings
from tests.conftest import ROOT

BABEL_CFG = ROOT / "babel.cfg"


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


@lru_cache(maxsize=1)
def _extracted() -> frozenset[str]:
    """Every message id the site's code and templates use, found by Babel as `make i18n-extract`
    finds them (`t("key")` and `N_("key")` calls, per `babel.cfg`)."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={"t": None, "N_": None})
    return frozenset(message for _file, _line, message, _comments, _context in found)


def test_babel_finds_the_messages_the_code_uses():
    used = _extracted()
    assert {"nav.datasets", "card.rows", "reason.extent", "dataset.updated"} <= used
    assert len(used) > 200


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_catalog_has_every_message_the_code_uses(lang):
    with (i18n.FOLDER / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        source = read_po(po, locale=lang)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in source
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    assert _extracted() - translated == set()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_compiled_catalogs_match_their_sources(lang):
    with (i18n.FOLDER / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        source = read_po(po, locale=lang)
    compiled = i18n.catalog(lang)
    for m in source:
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            forms = [compiled.ngettext(m.id[0], m.id[1], n) for n in (1, 2)]
            assert forms == list(m.string), f"{lang}: {m.id[0]} (run make i18n-compile)"
        else:
            assert compiled.gettext(m.id) == m.string, f"{lang}: {m.id} (run make i18n-compile)"


def test_the_message_template_is_up_to_date():
    with (i18n.FOLDER / "messages.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    assert template == _extracted(), "run make i18n-extract"


def test_keys_built_at_run_time_exist():
    english = i18n.messages("en")
    built = [f"ind.{k}.{part}" for k, *_ in (("trip_minutes",), *KEY_METRICS)
             for part in ("label", "unit", "explain")]  # fmt: skip
    built += [f"verdict.{v}" for v in ("better", "worse", "same")]
    built += [f"edit.{kind}" for kind in ("added", "changed", "charged", "closed")]
    built += [f"edit.label.{kind}" for kind in ("added", "changed", "charged", "closed")]
    built += [f"facet.{key}" for key in PAGE_FACETS] + [f"sort.{key}" for key in PAGE_SORTS]
    assert [key for key in built if key not in english] == []


@pytest.mark.parametrize(
    ("lang", "one", "many"),
    [("fi", "1 rivi", "12\u00a0345 riviä"), ("sv", "1 rad", "12\u00a0345 rader"),
     ("en", "1 row", "12,345 rows"), ("da", "1 række", "12.345 rækker")],
)  # fmt: skip
def test_counted_messages_have_plural_forms_and_local_numbers(lang, one, many):
    t = i18n.Translator(lang)
    assert t("card.rows", n=1) == one
    assert t("card.rows", n=12345).replace("\u202f", "\u00a0") == many
