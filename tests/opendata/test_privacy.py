"""The privacy gate: detectors (valid vs look-alike), masking, keyed hashing, gate and report."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opendata import privacy
from opendata.errors import PrivacyBlocked, SpecError
from opendata.privacy import Finding
from opendata.specs import PrivacyDecision

# --- generators built on the module's own checksum functions ---------------------------------


def make_pnr(
    born: date, serial: int, *, sep: str = "-", long: bool = False, coord: bool = False
) -> str:
    """A Swedish personnummer (or samordningsnummer: day + 60) with a correct Luhn digit."""
    day = born.day + (60 if coord else 0)
    body = f"{born:%y%m}{day:02d}{serial:03d}"
    check = privacy.luhn_digit(body)
    head = f"{born.year // 100}{body[:6]}" if long else body[:6]
    return f"{head}{sep}{body[6:]}{check}"


def make_hetu(born: date, serial: int, sign: str | None = None) -> str:
    """A Finnish HETU with the right century sign and check character."""
    sign = sign or {18: "+", 19: "-", 20: "A"}[born.year // 100]
    body = f"{born:%d%m%y}{serial:03d}"
    return f"{body[:6]}{sign}{body[6:]}{privacy.hetu_check(body)}"


def make_fnr(born: date, serial: int, *, d_number: bool = False) -> str | None:
    """A Norwegian fødselsnummer (or D-number: day + 40); None if the serial has no controls."""
    nine = f"{born.day + (40 if d_number else 0):02d}{born:%m%y}{serial:03d}"
    controls = privacy.no_controls(nine)
    return None if controls is None else nine + controls


def make_cpr(born: date, serial: int, *, sep: str = "-") -> str:
    """A Danish CPR whose first serial digit matches the birth century (CPR century rule)."""
    first = 0 if born.year < 2000 else 4
    return f"{born:%d%m%y}{sep}{first}{serial:03d}"


def detected(*values: object) -> set[str]:
    """Detector names found in a one-column frame holding `values`."""
    return {f.detector for f in privacy.scan(pd.DataFrame({"c": list(values)}))}


def corrupt_last(value: str) -> str:
    """The same value with its last digit changed (a checksum error)."""
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# --- catalogues --------------------------------------------------------------------------------

VALID = [
    # published examples (each checked by hand against the rules)
    ("19121212-1212", "se_personnummer"),  # Skatteverket's test-number style
    ("121212-1212", "se_personnummer"),
    ("191212121212", "se_personnummer"),
    ("121212+1212", "se_personnummer"),  # '+' = 100 years or older
    ("811228-9874", "se_personnummer"),
    ("701063-2391", "se_samordningsnummer"),  # day 63 = 3rd + 60
    ("131052-308T", "fi_hetu"),  # DVV's example
    ("131052a308t", "fi_hetu"),
    ("280264-051U", "fi_hetu"),
    ("010594Y9021", "fi_hetu"),  # 2023 century signs (DVV examples)
    ("020594X903P", "fi_hetu"),
    ("01010750160", "no_fodselsnummer"),  # Skatteetaten's example
    ("010107 50160", "no_fodselsnummer"),
    ("070761-4285", "dk_cpr"),
    ("290200-4000", "dk_cpr"),  # 29 Feb 2000 (serial 4xxx + year 00 -> 2000)
    ("anna.virtanen@hel.fi", "email"),
    ("Kontakt: Örjan.Ödman+news@kommun.se.", "email"),
    ("info@københavn.dk", "email"),
    # phones, international
    ("+46 70 123 45 67", "phone"),
    ("+46701234567", "phone"),
    ("+46 (0)70-123 45 67", "phone"),
    ("+358 (9) 310 1691", "phone"),
    ("+358 (0)40 123 4567", "phone"),
    ("+46 8 123 456 78", "phone"),
    ("0046 70 123 45 67", "phone"),
    ("+358 40 1234567", "phone"),
    ("+358 9 310 1691", "phone"),
    ("+358401234567", "phone"),
    ("+45 12 34 56 78", "phone"),
    ("+4512345678", "phone"),
    ("+47 912 34 567", "phone"),
    ("+47 22 12 34 56", "phone"),
    # phones, national
    ("070-123 45 67", "phone"),
    ("040 1234567", "phone"),
    ("09 310 1691", "phone"),
    ("(09) 310 1691", "phone"),
    ("08-123 456 78", "phone"),
    ("031-12 34 56", "phone"),
    ("050 123 4567", "phone"),
    ("32 12 34 56", "phone"),  # Danish grouping
    ("912 34 567", "phone"),  # Norwegian grouping
    ("Ring 040 1234567 efter kl. 16", "phone"),
    ("tel:09 310 1691, fax 09 310 1692", "phone"),
]

NOT_PERSONAL = [
    "2024",
    "1999",
    "00100",
    "00100 Helsinki",
    "114 55 Stockholm",
    "SE-114 55 Stockholm",
    "2100 København Ø",
    "0150 Oslo",
    "1 234 567",
    "12 345 678",
    "1234567",
    "2024-01-15",
    "2024-01-15T10:22:33",
    "2024-01-15 10:22:33+02:00",
    "15.01.2024",
    "01-02-2024",
    "20240115",
    "60.1699, 24.9384",
    "59.329323",
    "18.068581",
    "POINT (24.9384 60.1699)",
    "6672345.123 385678.456",
    "+60.123456",
    "08-16",
    "ma-pe 08-16, la 10-14",
    "Tilaus 4012345679 toimitettu",
    "INV-2024-000123",
    "0012345678",
    "FI21 1234 5600 0007 85",
    "SE45 5000 0000 0583 9825 7466",
    "1234567-8",
    "0123456-7",
    "3.14159265358979",
    "+1 555 123 4567",
    "@helsinki",
    "icon@2x.png",
    "anna@localhost",
    "a..b@example.fi",
    "19121212-1213",  # Luhn fails
    "121312-1216",  # month 13
    "131052-308U",  # wrong check character
    "131052G308T",  # no such century sign
    "311152-308A",  # 31 November
    "01010750161",  # second control digit wrong
    "32010750160",  # day 32
    "290200-0000",  # 29 Feb 1900 (serial 0xxx -> 1900s): no such day
    "320190-1234",
]


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
    invalid = [n for n in numbers if not privacy.luhn_ok(n)]
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


# --- scanning behaviour ------------------------------------------------------------------------


def test_count_is_cells_not_tokens_and_nulls_are_ignored() -> None:
    frame = pd.DataFrame(
        {"c": ["a@x.fi b@x.fi", "a@x.fi", None, "nothing", "c@y.se"], "n": [1, 2, 3, 4, 5]}
    )
    assert privacy.scan(frame) == [Finding("c", "email", 3, "a***@x***.fi")]


def test_single_hit_among_100k_rows_is_found() -> None:
    values = [f"Mannerheimintie {i % 300}, 00100 Helsinki" for i in range(100_000)]
    values[73_421] = "Asiakas 131052-308T"
    findings = privacy.scan(pd.DataFrame({"note": values}))
    assert [(f.column, f.detector, f.count) for f in findings] == [("note", "fi_hetu", 1)]


def test_scan_covers_text_numeric_and_categorical_columns() -> None:
    frame = pd.DataFrame(
        {
            "pnr_as_int": [191212121212, 198112289874, 191212121212],
            "pnr_with_blanks": [191212121212.0, np.nan, 198112289874.0],  # CSV ints with a blank
            "email": pd.Categorical(["anna@example.fi", "anna@example.fi", None]),
            "area": [1.5, 2.5, 1912121212.5],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-15"] * 3),
            "obj": pd.Series(["x", 5, None], dtype=object),
        }
    )
    expected = {
        ("pnr_as_int", "se_personnummer", 3),
        ("pnr_with_blanks", "se_personnummer", 2),
        ("email", "email", 2),
    }
    assert {(f.column, f.detector, f.count) for f in privacy.scan(frame)} == expected
    found = privacy.scan(frame, columns=list(frame.columns))
    assert {(f.column, f.detector, f.count) for f in found} == expected


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame({"c": pd.Series([], dtype=object)}),
        pd.DataFrame({"c": [None, None]}),
        pd.DataFrame({"c": pd.Series([None, None], dtype="string")}),
        pd.DataFrame({"c": ["", " ", "\n"]}),
        pd.DataFrame({"c": [b"19121212-1212", {"a": 1}]}),
    ],
)
def test_empty_null_and_non_text_cells_give_no_findings(frame: pd.DataFrame) -> None:
    assert privacy.scan(frame) == []


def test_scan_only_the_given_columns() -> None:
    frame = pd.DataFrame({"a": ["anna@example.fi"], "b": ["131052-308T"]})
    assert [f.column for f in privacy.scan(frame, columns=["b"])] == ["b"]
    with pytest.raises(SpecError, match="no such column"):
        privacy.scan(frame, columns=["missing"])


def test_one_identifier_can_match_several_national_shapes() -> None:
    assert detected("121212-1212") == {"se_personnummer", "dk_cpr"}


@pytest.mark.parametrize(("value", "detector"), VALID)
def test_sample_is_masked(value: str, detector: str) -> None:
    finding = next(f for f in privacy.scan(pd.DataFrame({"c": [value]})) if f.detector == detector)
    assert value not in repr(finding)
    assert "*" in finding.sample


@pytest.mark.parametrize(
    ("token", "detector", "masked"),
    [
        ("19121212-1212", "se_personnummer", "19******-***2"),
        ("131052-308T", "fi_hetu", "13****-***T"),
        ("anna@example.fi", "email", "a***@e***.fi"),
        ("+46 70 123 45 67", "phone", "+4* ** *** ** *7"),
    ],
)
def test_mask_shape(token: str, detector: str, masked: str) -> None:
    assert privacy.mask(token, detector) == masked


# --- apply: drop, hash, allow ------------------------------------------------------------------

KEY = b"test-key-1"


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pnr": ["19121212-1212", None, "19121212-1212", "811228-9874"],
            "email": ["a@x.fi", "b@x.fi", None, "c@x.fi"],
            "visits": [1, 2, 3, 4],
        }
    )


def test_hash_is_keyed_stable_and_keeps_nulls(people: pd.DataFrame) -> None:
    decisions = {"pnr": PrivacyDecision("hash", "join key for the visits dataset")}
    once = privacy.apply(people, decisions, key=KEY)["pnr"]
    again = privacy.apply(people, decisions, key=KEY)["pnr"]
    other = privacy.apply(people, decisions, key=b"another-key")["pnr"]
    assert once.tolist() == again.tolist()
    assert once[0] == once[2] != once[3]
    assert once.isna().tolist() == [False, True, False, False]
    assert once[0] != other[0]
    assert len(once[0]) == 32 and int(once[0], 16) >= 0
    assert once[0] not in hashlib.sha256(b"19121212-1212").hexdigest()


def test_hash_matches_documented_hmac(people: pd.DataFrame) -> None:
    out = privacy.apply(people, {"pnr": PrivacyDecision("hash")}, key=KEY)
    expected = hmac.new(KEY, b"811228-9874", hashlib.sha256).hexdigest()[:32]
    assert out["pnr"][3] == expected


def test_drop_removes_allow_keeps_and_input_is_untouched(people: pd.DataFrame) -> None:
    before = people.copy()
    decisions = {
        "email": PrivacyDecision("drop"),
        "visits": PrivacyDecision("allow", "counts, not personal data"),
    }
    out = privacy.apply(people, decisions, key=KEY)
    assert list(out.columns) == ["pnr", "visits"]
    pd.testing.assert_series_equal(out["visits"], people["visits"])
    pd.testing.assert_frame_equal(people, before)


def test_hashed_frame_no_longer_scans_as_personal(people: pd.DataFrame) -> None:
    decisions = {"pnr": PrivacyDecision("hash"), "email": PrivacyDecision("hash")}
    assert privacy.scan(privacy.apply(people, decisions, key=KEY)) == []


def test_decision_for_unknown_column_is_a_spec_error(people: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"^privacy\.phone: no such column"):
        privacy.apply(people, {"phone": PrivacyDecision("drop")}, key=KEY)


def test_unknown_action_is_a_spec_error(people: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"^privacy\.pnr\.action: expected one of drop, hash"):
        privacy.apply(people, {"pnr": PrivacyDecision("encrypt")}, key=KEY)


def test_hash_without_key_is_refused(people: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match="CIVIC_HASH_KEY"):
        privacy.apply(people, {"pnr": PrivacyDecision("hash")}, key=b"")


# --- gate and report ---------------------------------------------------------------------------


def test_gate_lists_every_blocking_finding_with_toml_and_no_full_values(
    people: pd.DataFrame,
) -> None:
    people["contact person"] = ["+358 40 1234567", None, None, None]
    findings = privacy.scan(people)
    with pytest.raises(PrivacyBlocked) as err:
        privacy.gate(findings, {"email": PrivacyDecision("drop")})
    message = str(err.value)
    assert "'pnr': se_personnummer in 3 cell(s), e.g. 19******-***2" in message
    assert "'contact person': phone in 1 cell(s)" in message
    assert "[privacy.pnr]" in message and '[privacy."contact person"]' in message
    assert 'action = "drop"  # or "hash", or "allow" with reason = "..."' in message
    assert "email" not in message
    for value in ["19121212-1212", "811228-9874", "+358 40 1234567", "a@x.fi"]:
        assert value not in message


def test_gate_passes_when_every_finding_has_a_decision(people: pd.DataFrame) -> None:
    decisions = {"pnr": PrivacyDecision("hash"), "email": PrivacyDecision("drop")}
    assert privacy.gate(privacy.scan(people), decisions) is None
    assert privacy.gate([], {}) is None


def test_report_rows(people: pd.DataFrame) -> None:
    rows = privacy.report(privacy.scan(people), {"pnr": PrivacyDecision("hash")})
    assert rows == [
        {"column": "pnr", "detector": "se_personnummer", "count": 3, "action": "hash"},
        {"column": "email", "detector": "email", "count": 3, "action": "blocked"},
    ]


# --- scale -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_million_rows_three_text_columns(capsys: pytest.CaptureFixture[str]) -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    streets = np.array(["Mannerheimintie", "Aleksanterinkatu", "Bulevardi", "Esplanadi"])
    frame = pd.DataFrame(
        {
            "address": pd.Series(streets[rng.integers(0, 4, n)])
            + " "
            + pd.Series(rng.integers(1, 200, n)).astype(str)
            + ", 00100 Helsinki",
            "note": [f"Tilaus {i} toimitettu 2024-01-{i % 28 + 1:02d}" for i in range(n)],
            "order_no": [f"5{i:09d}" for i in range(n)],
        }
    )
    frame.loc[123_456, "note"] = "soita 040 1234567"
    start = time.perf_counter()
    findings = privacy.scan(frame)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nprivacy.scan: {n:,} rows x 3 text columns in {elapsed:.2f} s")
    assert [(f.column, f.detector, f.count) for f in findings] == [("note", "phone", 1)]
