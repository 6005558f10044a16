"""Who is asking: the user behind an `Authorization: Bearer` token or a session cookie, and the
401/403 answers every write route gives. A session-authenticated write must carry the CSRF
token (Flask-WTF); a Bearer request is not exposed to CSRF, since browsers never add it."""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFProtect

from api.auth.accounts import User, user_for_secret
from api.http import ApiError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
csrf = CSRFProtect()  # checks only where `protect()` is called (WTF_CSRF_CHECK_DEFAULT off)


def _catalog_url() -> str:
    return current_app.config["CIVIC_SETTINGS"].catalog_url


def current_user() -> User | None:
    """The signed-in user of this request, or None for an anonymous visitor."""
    if "civic_user" not in g:
        g.civic_user = _find_user()
    return g.civic_user


def _find_user() -> User | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return user_for_secret(_catalog_url(), token.strip(), "token")
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    user = user_for_secret(_catalog_url(), sid, "session")
    if user is not None and request.method not in SAFE_METHODS:
        csrf.protect()  # a 400 problem when the form or X-CSRFToken header lacks the token
    return user


def require(right: str = "scenarios") -> User:
    """The user of this request if their role grants `right`: 401 (with the Bearer challenge)
    without valid credentials, 403 when the role does not allow it."""
    user = current_user()
    if user is None:
        raise ApiError(
            401,
            "sign in or send a valid API token (Authorization: Bearer TOKEN)",
            title="Unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="civic"'},
        )
    if not user.may(right):
        raise ApiError(403, f"the role {user.role!r} may not do this", title="Forbidden")
    return user
