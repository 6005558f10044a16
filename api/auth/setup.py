"""Wire accounts into the app: the session cookie's attributes and the CSRF extension."""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import Flask

from api.auth.access import csrf
from api.auth.accounts import SESSION_HOURS
from api.auth.drafts import keep_private
from api.auth.throttle import SignInThrottle
from opendata.settings import Settings


def install(app: Flask, settings: Settings) -> None:
    """Session cookie: HttpOnly, SameSite=Lax, Secure when the site is served over https.

    The cookie carries only a random session id (checked against the catalog DB, so sign-out
    and `civic users revoke` end it at once) and the CSRF token; its signing key is derived
    from `CIVIC_HASH_KEY`, which production sets anyway."""
    app.secret_key = hmac.new(settings.hash_key.encode(), b"civic-session", "sha256").hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="civic_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_CHECK_DEFAULT=False,  # `api.auth.access` checks where a session writes
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    app.extensions["civic_signin_throttle"] = SignInThrottle(settings.rate_limit_storage)
    app.after_request(keep_private)  # an owner's draft is never kept by a shared cache
