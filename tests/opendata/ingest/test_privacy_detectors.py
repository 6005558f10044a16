"""The privacy detectors: valid identifiers found, look-alikes (order numbers, dates, counts,
coordinates) not flagged, generated identifiers of every Nordic form detected."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opendata.ingest import privacy, privacy_detectors
from opendata.ingest.privacy import Finding
from tests.opendata.ingest.privacy_cases import (
    NOT_PERSONAL,
    VALID,
    corrupt_last,
    detected,
    make_cpr,
    make_fnr,
    make_hetu,
    make_pnr,
)


@pytest.mark.parametrize(("value", "detector"), VALID)
def test_valid_identifier_is_detected(value: str, detector: str) -> None:
    assert detector in detected(value)


@pytest.mark.parametrize("value", NOT_PERSONAL)
def test_look_alike_is_not_flagged(value: str) -> None:
    assert detected(value) == set()


@pytest.mark.parametrize("value", ["19121212-1212", "131052-308T", "01010750160", "070761-4285"])
@pytest.mark.parametrize("glue", ["x{}", "{}x", "1{}", "{}1", "-{}", "{}.5", "{}/2"])
def test_number_glued_to_other_text_is_not_an_identifier(value: str, glue: str) -> None:
    assert detected(glue.format(value)) == set()


# --- generated identifiers ---------------------------------------------------------------------

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31))
serials = st.integers(min_value=0, max_value=999)


@settings(max_examples=150, deadline=None)
@given(births, serials, st.sampled_from(["-", "+", ""]), st.booleans(), st.booleans())
def test_every_generated_personnummer_is_detected(born, serial, sep, long, coord) -> None:
    value = make_pnr(born, serial, sep=sep, long=long, coord=coord)
    kind = "se_samordningsnummer" if coord else "se_personnummer"
    assert kind in detected(value)


@settings(max_examples=150, deadline=None)
@given(births, serials, st.sampled_from(["-", ""]), st.booleans())
def test_luhn_invalid_personnummer_is_not_detected(born, serial, sep, long) -> None:
    value = corrupt_last(make_pnr(born, serial, sep=sep, long=long))
    assert not detected(value) & {"se_personnummer", "se_samordningsnummer"}


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)), serials)
def test_every_generated_hetu_is_detected_and_a_wrong_check_is_not(born, serial) -> None:
    value = make_hetu(born, serial)
    assert "fi_hetu" in detected(value)
    wrong = next(c for c in "0123456789ABCDEFHJKLMNPRSTUVWXY" if c != value[-1])
    assert "fi_hetu" not in detected(value[:-1] + wrong)


@settings(max_examples=150, deadline=None)
@given(births, serials, st.booleans(), st.integers(min_value=0, max_value=10), st.integers(1, 9))
def test_every_generated_fodselsnummer_is_detected_and_one_wrong_digit_is_not(
    born, serial, d_number, pos, delta
) -> None:
    value = make_fnr(born, serial, d_number=d_number)
    if value is None:  # no valid control digits exist for this serial
        return
    assert "no_fodselsnummer" in detected(value)
    broken = value[:pos] + str((int(value[pos]) + delta) % 10) + value[pos + 1 :]
    assert "no_fodselsnummer" not in detected(broken)


@settings(max_examples=100, deadline=None)
@given(births, serials)
def test_every_generated_separated_cpr_is_detected(born, serial) -> None:
    assert "dk_cpr" in detected(make_cpr(born, serial))


digits = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["070", "072", "073", "076", "079"]), st.integers(1_000_000, 9_999_999))
def test_every_swedish_mobile_form_is_detected(prefix: str, sub: int) -> None:
    s = str(sub)
    forms = [
        f"{prefix}-{s[:3]} {s[3:5]} {s[5:]}",
        f"{prefix} {s}",
        f"+46 {prefix[1:]} {s[:3]} {s[3:5]} {s[5:]}",
        f"+46{prefix[1:]}{s}",
        f"0046 {prefix[1:]}-{s}",
    ]
    for form in forms:
        assert detected(form) == {"phone"}, form


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["040", "041", "044", "045", "050", "09", "02"]), digits)
def test_every_finnish_phone_form_is_detected(prefix: str, sub: int) -> None:
    s = f"{sub % 9_000_000 + 1_000_000}"
    for form in (f"{prefix} {s}", f"{prefix} {s[:3]} {s[3:]}", f"+358 {prefix[1:]} {s}"):
        assert detected(form) == {"phone"}, form


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=pd.Timestamp("1900-01-01"), max_value=pd.Timestamp("2100-01-01")),
    st.floats(-90, 90),
    st.floats(-180, 180),
    digits,
)
def test_dates_coordinates_and_counts_are_never_flagged(when, lat, lon, n) -> None:
    values = [
        when.isoformat(),
        f"{when:%d.%m.%Y %H:%M}",
        f"{when:%Y%m%d}",
        f"{lat:.6f}, {lon:.6f}",
        f"POINT ({lon:.7f} {lat:.7f})",
        f"{n:,}".replace(",", " "),
        str(n),
        f"{n % 100_000:05d}",
    ]
    assert detected(*values) == set()


def test_order_numbers_with_invalid_luhn_are_not_flagged() -> None:
    rng = np.random.default_rng(7)
    numbers = [str(n) for n in rng.integers(10**9, 10**10, 5000)]
    invalid = [n for n in numbers if not privacy_detectors.luhn_ok(n)]
    frame = pd.DataFrame({"order_no": invalid, "invoice": [f"INV {n}" for n in invalid]})
    assert privacy.scan(frame) == []


def test_bare_cpr_needs_a_column_of_them() -> None:
    bare = [make_cpr(date(1980, 1, 1) + timedelta(days=i), i, sep="") for i in range(200)]
    lone = [f"9{i:09d}" for i in range(199)] + [bare[0]]
    findings = [f for f in privacy.scan(pd.DataFrame({"cpr": bare})) if f.detector == "dk_cpr"]
    assert findings == [Finding("cpr", "dk_cpr", 200, privacy.mask(bare[0], "dk_cpr"))]
    assert "dk_cpr" not in {f.detector for f in privacy.scan(pd.DataFrame({"x": lone}))}


def test_bare_national_phone_needs_a_column_of_them() -> None:
    phones = [f"070{i:07d}" for i in range(100)] + [None] * 50
    lone = [f"9{i:09d}" for i in range(99)] + ["0701234567"]
    assert detected(*phones) == {"phone"}
    assert "phone" not in detected(*lone)
