"""Users, roles, API tokens and sessions in the catalog DB (tables in `opendata.store.catalog`).

Passwords are argon2id hashes (argon2-cffi); tokens and session ids are random 256-bit secrets
of which only the SHA-256 is stored, so a copy of the database grants nothing."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opendata.errors import CivicError
from opendata.store.catalog import credentials, engine_for, now, users

ROLES = ("planner", "publisher", "admin")
#: What each role may do; an admin may also act on other people's scenarios.
RIGHTS = {
    "planner": {"scenarios"},
    "publisher": {"scenarios", "datasets"},
    "admin": {"scenarios", "datasets", "others"},
}
NAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
SESSION_HOURS = 8  #: a working day; sign in again the next morning
MIN_PASSWORD = 12
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not-a-real-password")  # verified for unknown names: same timing


class AccountError(CivicError):
    """A refused account operation (unknown user, bad role or name, weak password)."""


@dataclass(frozen=True)
class User:
    """A person who may write: their name and role (never a secret)."""

    name: str
    role: str
    has_password: bool
    created_at: str

    def may(self, right: str) -> bool:
        """Whether this user's role grants `right` (`scenarios`, `datasets`, `others`)."""
        return right in RIGHTS.get(self.role, set())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: sa.Row) -> User:
    return User(row.name, row.role, row.password_hash is not None, row.created_at)


def _later(**delta: float) -> str:
    stamp = datetime.now(UTC) + timedelta(**delta)
    return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def get_user(url: str, name: str) -> User:
    """The user called `name`, else `AccountError`."""
    with engine_for(url).connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None:
        raise AccountError(f"no user named {name[:40]!r}")
    return _user(row)


def list_users(url: str) -> list[User]:
    """Every user, by name."""
    with engine_for(url).connect() as conn:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


def add_user(url: str, name: str, role: str) -> User:
    """Create a user (no password yet); names are lower-case login names."""
    if not NAME_RE.match(name):
        raise AccountError(
            "a user name is 2-32 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role[:20]!r}")
    with engine_for(url).begin() as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
            raise AccountError(f"user {name!r} exists already")
        conn.execute(users.insert().values(name=name, role=role, failed_logins=0, created_at=now()))
    return get_user(url, name)


def issue_token(url: str, name: str) -> str:
    """A new API token for `name`: returned once, only its hash is kept."""
    get_user(url, name)
    return _new_secret(url, name, "token", expires_at=None)


def _new_secret(url: str, name: str, kind: str, *, expires_at: str | None) -> str:
    secret = secrets.token_urlsafe(32)
    row = dict(user=name, kind=kind, created_at=now(), expires_at=expires_at)
    with engine_for(url).begin() as conn:
        conn.execute(credentials.insert().values(secret_hash=_digest(secret), **row))
    return secret


def revoke(url: str, name: str, *, kind: str | None = None) -> int:
    """Revoke every token and session of `name` (or one kind); returns how many."""
    get_user(url, name)
    cond = credentials.c.user == name
    if kind is not None:
        cond &= credentials.c.kind == kind
    with engine_for(url).begin() as conn:
        return int(conn.execute(credentials.delete().where(cond)).rowcount or 0)


def end_session(url: str, session_id: str) -> None:
    """Delete one session (sign-out): its cookie is worthless from now on."""
    with engine_for(url).begin() as conn:
        conn.execute(credentials.delete().where(credentials.c.secret_hash == _digest(session_id)))


def user_for_secret(url: str, secret: str, kind: str) -> User | None:
    """The user a token or session id belongs to, if it is valid and not expired."""
    query = (
        sa.select(users, credentials.c.expires_at)
        .join(credentials, credentials.c.user == users.c.name)
        .where((credentials.c.secret_hash == _digest(secret)) & (credentials.c.kind == kind))
    )
    with engine_for(url).connect() as conn:
        row = conn.execute(query).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now()):
        return None
    return _user(row)


def set_password(url: str, name: str, password: str) -> None:
    """Store an argon2id hash of `password` (the old `failed_logins`/`locked_until` columns are
    reset; the lock-out now lives in `api.auth.throttle`, per name and client address)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    get_user(url, name)
    values = dict(password_hash=_HASHER.hash(password), failed_logins=0, locked_until=None)
    with engine_for(url).begin() as conn:
        conn.execute(users.update().where(users.c.name == name).values(**values))


def sign_in(url: str, name: str, password: str) -> str:
    """A new session id for a correct name and password; `AccountError` otherwise. Repeated
    failures are throttled per name and client address by the caller (`api.auth.throttle`)."""
    refused = AccountError("wrong user name or password")
    with engine_for(url).connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None or row.password_hash is None:
        _verify(_DUMMY, password)  # spend the same time: do not reveal which names exist
        raise refused
    if not _verify(row.password_hash, password):
        raise refused
    return _new_secret(url, name, "session", expires_at=_later(hours=SESSION_HOURS))


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
