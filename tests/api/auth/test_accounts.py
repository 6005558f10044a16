"""Accounts in the catalog DB: roles, argon2 password hashes, hashed tokens, revocation,
sessions with an expiry; the account itself never locks (see api.auth.throttle)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from api.auth import accounts
from api.auth.accounts import AccountError
from opendata.store.catalog import credentials, engine_for, users

PASSWORD = "correct horse battery"


@pytest.fixture
def url(tmp_path) -> str:
    """A fresh catalog DB with one planner."""
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}"
    accounts.add_user(catalog, "anna", "planner")
    return catalog


def test_token_is_stored_only_as_its_sha256(url):
    token = accounts.issue_token(url, "anna")
    with engine_for(url).connect() as conn:
        stored = conn.execute(sa.select(credentials.c.secret_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored and len(token) >= 40


def test_token_finds_its_user_and_a_wrong_one_finds_nobody(url):
    token = accounts.issue_token(url, "anna")
    assert accounts.user_for_secret(url, token, "token").name == "anna"
    assert accounts.user_for_secret(url, token + "x", "token") is None
    assert accounts.user_for_secret(url, token, "session") is None  # kinds do not mix


def test_revoke_ends_every_token_and_session(url):
    tokens = [accounts.issue_token(url, "anna") for _ in range(2)]
    accounts.set_password(url, "anna", PASSWORD)
    sid = accounts.sign_in(url, "anna", PASSWORD)
    assert accounts.revoke(url, "anna") == 3
    assert [accounts.user_for_secret(url, t, "token") for t in tokens] == [None, None]
    assert accounts.user_for_secret(url, sid, "session") is None


def test_password_is_an_argon2id_hash(url):
    accounts.set_password(url, "anna", PASSWORD)
    with engine_for(url).connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("Anna Smith", "planner", "lower-case letters"),
        ("bob", "mayor", "role must be one of planner, publisher, admin"),
        ("anna", "admin", "exists already"),
    ],
)
def test_bad_user_is_refused_with_the_reason(url, name, role, message):
    with pytest.raises(AccountError, match=message):
        accounts.add_user(url, name, role)


def test_short_password_is_refused(url):
    with pytest.raises(AccountError, match="at least 12 characters"):
        accounts.set_password(url, "anna", "short")


def test_unknown_user_and_wrong_password_get_the_same_message(url):
    accounts.set_password(url, "anna", PASSWORD)
    messages = []
    for name, password in (("nobody", PASSWORD), ("anna", "wrong password!!")):
        with pytest.raises(AccountError) as err:
            accounts.sign_in(url, name, password)
        messages.append(str(err.value))
    assert messages == ["wrong user name or password"] * 2


def test_a_right_password_after_wrong_ones_signs_in(url):
    """The account itself never locks (that could be used against its owner): the lock-out is
    per name and client address, in `api.auth.throttle`."""
    accounts.set_password(url, "anna", PASSWORD)
    for _ in range(10):
        with pytest.raises(AccountError, match="wrong user name"):
            accounts.sign_in(url, "anna", "wrong password!!")
    assert accounts.user_for_secret(url, accounts.sign_in(url, "anna", PASSWORD), "session")


def test_expired_session_is_not_accepted(url):
    accounts.set_password(url, "anna", PASSWORD)
    sid = accounts.sign_in(url, "anna", PASSWORD)
    with engine_for(url).begin() as conn:
        conn.execute(credentials.update().values(expires_at="2000-01-01T00:00:00Z"))
    assert accounts.user_for_secret(url, sid, "session") is None


def test_roles_grant_rights():
    planner, admin = (accounts.User("a", r, False, "") for r in ("planner", "admin"))
    assert planner.may("scenarios") and not planner.may("others")
    assert admin.may("others") and admin.may("datasets")
