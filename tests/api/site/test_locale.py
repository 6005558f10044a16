"""The page's language all the way through: metadata through `pick` (or marked with its own
`lang`), numbers, percentages and dates per locale (CLDR through Babel), translated quarantine
reasons, licence names and error pages."""

from __future__ import annotations

import re

import pytest

from api.site.formats import Formatter
from api.site.i18n import Translator
from api.site.reasons import translate
from tests.api.site.site_data import SCENARIO

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("lang", "number", "grouped", "percent", "day"),
    [
        ("fi", "2,41", "15\u00a0806", "12,5\u00a0%", "7.12.2026"),
        ("sv", "2,41", "15\u00a0806", "12,5\u00a0%", "7 dec. 2026"),
        ("en", "2.41", "15,806", "12.5%", "Dec 7, 2026"),
        ("da", "2,41", "15.806", "12,5\u00a0%", "7. dec. 2026"),
    ],
)
def test_numbers_percentages_and_dates_follow_the_locale(lang, number, grouped, percent, day):
    fmt = Formatter(lang)
    assert fmt.number(2.41) == number
    assert fmt.integer(15806).replace("\u202f", "\u00a0") == grouped
    assert fmt.percent(12.5, 1).replace("\u202f", "\u00a0") == percent
    assert fmt.date("2026-12-07T08:30:00+00:00") == day
    assert fmt.number(float("nan")) == fmt.number(None) == "–"


def test_relative_time_is_in_the_page_language():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert Formatter("fi").ago("2026-12-04", now) == "3 päivää sitten"
    assert Formatter("sv").ago("2026-12-04", now) == "för 3 dagar sedan"


@pytest.mark.parametrize(
    ("reason", "finnish"),
    [
        ("column 'speed': below minimum 0", "sarake 'speed': alle vähimmäisarvon 0"),
        ("column 'fid': duplicate value (must be unique)", "sarake 'fid': sama arvo"),
        ("geometry is not a Point", "geometria ei ole tyyppiä Point"),
        ("coordinates outside 24.5, 59.9, 25.5, 60.5 (lon/lat, CIVIC_CITY_BBOX)", "koordinaatit"),
    ],
)
def test_known_quarantine_reasons_are_translated(reason, finnish):
    shown = translate(reason, 4, Translator("fi"))
    assert shown.text.startswith(finnish)
    assert (shown.lang, shown.rows) == ("fi", 4)


def test_an_unknown_quarantine_reason_stays_english_and_says_so():
    shown = translate("the reader gave up", 2, Translator("sv"))
    assert (shown.text, shown.lang) == ("the reader gave up", "en")


def test_scenario_page_in_finnish_shows_the_specs_finnish_description(client):
    body = client.get(f"/scenarios/{SCENARIO}?lang=fi", headers=HTML).get_data(as_text=True)
    assert '<p class="lead">Mannerheimintie suljetaan moottoriliikenteeltä' in body
    assert "<h1>Mannerheimintie suljettu töiden ajaksi</h1>" in body
    swedish = client.get(f"/scenarios/{SCENARIO}?lang=sv", headers=HTML).get_data(as_text=True)
    assert '<p class="lead">Mannerheimvägen stängs för motortrafik' in swedish


def test_scenario_indicators_use_the_locales_decimal_sign(client):
    body = client.get(f"/scenarios/{SCENARIO}?lang=fi", headers=HTML).get_data(as_text=True)
    verdicts = re.findall(r"(?:Parempi|Huonompi|Ei todellista muutosta): ([^<]+)", body)
    assert verdicts, "no indicator verdicts on the page"
    assert any(re.search(r"\d,\d", v) for v in verdicts)
    assert not any(re.search(r"\d\.\d", v) for v in verdicts)
    english = client.get(f"/scenarios/{SCENARIO}?lang=en", headers=HTML).get_data(as_text=True)
    assert re.search(r"(?:Better|Worse|No real change): [^<]*\d\.\d", english)


def test_scenario_results_carry_the_scenarios_languages(client):
    item = client.get(f"/datasets/scenario_{SCENARIO}_links?f=json&lang=sv").get_json()
    assert item["description_lang"] == "sv"
    assert item["description"].startswith("Mannerheimvägen stängs")
    assert item["notes_lang"] == "sv"


def test_dataset_dates_and_licence_are_in_the_page_language(client):
    body = client.get("/datasets/roads?lang=fi", headers=HTML).get_data(as_text=True)
    assert re.search(r"<dt>Viimeksi päivitetty</dt><dd>\d{1,2}\.\d{1,2}\.\d{4} ", body)
    assert "ODbL 1.0 (avoin tietokantalisenssi)" in body
    assert not re.search(r"<td>\d{4}-\d\d-\d\d</td>", body)  # version dates too


def test_metadata_only_in_english_is_marked_lang_en(client):
    body = client.get("/datasets/roads?lang=sv", headers=HTML).get_data(as_text=True)
    assert re.search(r'<dd lang="en">© OpenStreetMap contributors', body)
    assert re.search(r'<dd lang="en">(<a [^>]+>)?City of Helsinki', body)


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/scenarios/no_such_plan?lang=fi", "Julkaistua skenaariota nimeltä ”no_such_plan”"),
        ("/scenarios/no_such_plan?lang=sv", "Det finns inget publicerat scenario med namnet"),
    ],
)
def test_error_pages_are_in_the_page_language(client, url, text):
    resp = client.get(url, headers=HTML)
    assert resp.status_code == 404
    assert text in resp.get_data(as_text=True)
