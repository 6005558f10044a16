"""Every write route needs a token or a session (401 with the Bearer challenge otherwise), a
session write needs its CSRF token, sign-in locks out after repeated failures, sign-out ends the
session on the server, and foreign origins may read but never write (Flask-CORS per blueprint)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from api.app import create_app
from api.auth import accounts, throttle
from opendata.settings import Settings

PASSWORD = "a long enough password"
FOREIGN = "https://elsewhere.example"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Settings:
    """An empty store with one planner who has a password (hashing once: argon2 is slow)."""
    tmp_path = tmp_path_factory.mktemp("access")
    settings = Settings(data_dir=tmp_path / "data", datasets_dir=tmp_path / "specs")
    accounts.add_user(settings.catalog_url, "anna", "planner")
    accounts.set_password(settings.catalog_url, "anna", PASSWORD)
    return settings


@pytest.fixture
def client(store: Settings):
    return create_app(store).test_client()


def _csrf(client, path: str = "/studio/signin") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(client, password: str = PASSWORD, *, name: str = "anna", **extra):
    form = {"name": name, "password": password, "csrf_token": _csrf(client), **extra}
    return client.post("/studio/signin", data=form)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic YW5uYTpwdw==", "Bearer "],
    ids=["none", "unknown token", "basic", "empty bearer"],
)
def test_write_without_valid_credentials_is_401_with_bearer_challenge(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    resp = client.post("/api/scenarios", json={"name": "x"}, headers=headers)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in resp.get_json()["detail"]


def test_valid_token_passes_to_validation_and_revoked_token_does_not(client, store):
    token = accounts.issue_token(store.catalog_url, "anna")
    headers = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/scenarios", json={"name": "x"}, headers=headers)
    assert resp.status_code == 422  # authenticated; the body is what is wrong
    accounts.revoke(store.catalog_url, "anna")
    assert client.post("/api/scenarios", json={"name": "x"}, headers=headers).status_code == 401


def test_reads_stay_open_to_every_origin(client):
    resp = client.get("/api/scenarios", headers={"Origin": FOREIGN})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in resp.headers["Access-Control-Expose-Headers"]


def test_writes_give_no_cors_header_to_a_foreign_origin(client, store):
    token = accounts.issue_token(store.catalog_url, "anna")
    headers = {"Origin": FOREIGN, "Authorization": f"Bearer {token}"}
    resp = client.post("/api/scenarios", json={"name": "x"}, headers=headers)
    assert resp.status_code == 422
    assert "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/scenarios"), ("POST", "/studio/signin")]
)
def test_preflight_of_a_write_is_refused(client, method, path):
    headers = {
        "Origin": FOREIGN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    resp = client.options(path, headers=headers)
    assert not [k for k in resp.headers.keys() if k.startswith("Access-Control-")]


def test_preflight_of_a_read_only_post_is_allowed(client):
    headers = {"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
    resp = client.options("/api/sql", headers=headers)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]


def test_studio_sends_anonymous_visitors_to_sign_in(client):
    resp = client.get("/studio")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/studio/signin?next=/studio")


def test_sign_in_sets_a_httponly_samesite_lax_session_cookie(client):
    resp = _sign_in(client)
    assert resp.status_code == 303 and resp.headers["Location"] == "/studio"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("civic_session=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Secure" not in cookie  # served over http here
    page = client.get("/studio")
    assert page.status_code == 200 and "anna" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_secure_when_the_site_is_https(store):
    client = create_app(replace(store, base_url="https://city.example")).test_client()
    assert "Secure" in _sign_in(client).headers["Set-Cookie"]


def test_sign_in_without_csrf_token_is_refused(client):
    resp = client.post("/studio/signin", data={"name": "anna", "password": PASSWORD})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_json()["detail"]
    assert client.get("/studio").status_code == 303  # not signed in


def _sign_in_from(client, address: str, password: str, name: str = "bert"):
    """Sign in as if from `address` (the WSGI REMOTE_ADDR a real server would set)."""
    client.environ_base["REMOTE_ADDR"] = address
    return _sign_in(client, password, name=name)


@pytest.fixture
def bert(store: Settings) -> str:
    """A planner with a password, created once per store."""
    if "bert" not in [u.name for u in accounts.list_users(store.catalog_url)]:
        accounts.add_user(store.catalog_url, "bert", "planner")
        accounts.set_password(store.catalog_url, "bert", PASSWORD)
    return "bert"


def test_five_failures_lock_the_name_only_for_the_attackers_address(client, bert):
    for _ in range(throttle.MAX_FAILURES):
        resp = _sign_in_from(client, "198.51.100.9", "not the password")
        assert resp.status_code == 401
        assert "wrong user name or password" in resp.get_data(as_text=True)
    locked = _sign_in_from(client, "198.51.100.9", PASSWORD)  # even the right password
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 900
    assert "too many failed sign-ins for this name" in locked.get_data(as_text=True)
    owner = _sign_in_from(client, "203.0.113.5", PASSWORD)  # the owner, elsewhere
    assert owner.status_code == 303 and owner.headers["Location"] == "/studio"


def test_one_address_cannot_guess_through_many_names(client, bert):
    for i in range(throttle.MAX_ADDRESS_FAILURES):
        assert _sign_in_from(client, "2001:db8:5::1", "x" * 12, name=f"guess{i}").status_code == 401
    same_block = _sign_in_from(client, "2001:db8:5::2", PASSWORD)  # same IPv6 /64
    assert same_block.status_code == 429
    assert "from this address" in same_block.get_data(as_text=True)
    assert _sign_in_from(client, "192.0.2.44", PASSWORD).status_code == 303


def test_session_write_needs_the_csrf_token(client):
    _sign_in(client)
    assert client.post("/api/scenarios", json={"name": "x"}).status_code == 400
    token = _csrf(client, "/studio")
    resp = client.post("/api/scenarios", json={"name": "x"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 422  # signed in and protected: the body is what is wrong


def test_sign_out_ends_the_session_on_the_server(client):
    _sign_in(client)
    stolen = client.get_cookie("civic_session").value
    token = _csrf(client, "/studio")
    resp = client.post("/studio/signout", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/studio/signin"
    client.set_cookie("civic_session", stolen)  # replaying the old cookie grants nothing
    assert client.get("/studio").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/datasets"])
def test_sign_in_never_redirects_outside_the_studio(client, target):
    assert _sign_in(client, next=target).headers["Location"] == "/studio"


def test_openapi_declares_bearer_auth_and_a_full_request_body(client):
    doc = client.get("/openapi").get_json(force=True)
    post = doc["paths"]["/api/scenarios"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["name", "title", "edits"]
    assert {e["title"] for e in schema["properties"]["edits"]["items"]["oneOf"]} >= {
        "close",
        "change",
        "development",
        "cordon_charge",
    }
    assert post["security"] == [{"bearerAuth": []}] and {"401", "403"} <= post["responses"].keys()
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
