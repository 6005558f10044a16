"""The privacy gate: scanning behaviour, masking, keyed hashing, drop/allow, gate and report."""

from __future__ import annotations

import hashlib
import hmac
import time

import numpy as np
import pandas as pd
import pytest

from opendata.errors import PrivacyBlocked, SpecError
from opendata.ingest import privacy
from opendata.ingest.privacy import Finding
from opendata.ingest.spec_model import PrivacyDecision
from tests.opendata.ingest.privacy_cases import VALID, detected

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
