"""`civic users`: add prints a working token as its last line, list never shows one, revoke ends
them, passwd sets a sign-in password; mistakes are one line and exit 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from api.auth import accounts
from api.cli import main
from tests.live import ROOT


def _civic(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`civic users ARGS` as a real process (what an operator runs)."""
    env = {**os.environ, "CIVIC_DATA_DIR": str(tmp_path / "data")}
    env.pop("CIVIC_CATALOG_URL", None)
    command = [sys.executable, "-c", "from api.cli import main; main()", "users", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def _run(home, monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`civic users ARGS` through the same `main` in this process (no 10 s interpreter start)."""
    monkeypatch.setenv("CIVIC_DATA_DIR", str(home / "data"))
    monkeypatch.delenv("CIVIC_CATALOG_URL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        main(["users", *args])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A store folder where `civic users add anna --role planner` ran as a process."""
    path = tmp_path_factory.mktemp("users_cli")
    ADDED[path] = _civic(path, "add", "anna", "--role", "planner")
    return path


ADDED: dict = {}  #: the output of `users add` per store folder


def _url(home) -> str:
    return f"sqlite:///{home / 'data' / 'catalog.db'}"


def test_add_prints_a_working_token_as_the_last_line(home):
    assert ADDED[home].returncode == 0, ADDED[home].stderr
    token = ADDED[home].stdout.strip().splitlines()[-1]
    assert accounts.user_for_secret(_url(home), token, "token").name == "anna"


def test_list_shows_users_and_roles_but_no_token(home, monkeypatch, capsys):
    token = ADDED[home].stdout.strip().splitlines()[-1]
    code, out, _ = _run(home, monkeypatch, capsys, "list")
    assert code == 0
    assert out.startswith("anna\tplanner\tno password")
    assert token not in out


def test_token_then_revoke_ends_every_token(home, monkeypatch, capsys):
    _, out, _ = _run(home, monkeypatch, capsys, "token", "anna")
    issued = out.strip().splitlines()[-1]
    assert accounts.user_for_secret(_url(home), issued, "token").name == "anna"
    code, out, _ = _run(home, monkeypatch, capsys, "revoke", "anna")
    assert code == 0 and "revoked 2 token(s)" in out
    assert accounts.user_for_secret(_url(home), issued, "token") is None


def test_passwd_from_stdin_allows_sign_in(home, monkeypatch, capsys):
    args = ("passwd", "anna", "--password-stdin")
    code, _, err = _run(home, monkeypatch, capsys, *args, stdin="twelve chars or more\n")
    assert code == 0, err
    assert accounts.sign_in(_url(home), "anna", "twelve chars or more")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "Bad Name", "--role", "planner"), "lower-case letters"),
        (("token", "nobody"), "no user named 'nobody'"),
        (("add", "carl", "--role", "mayor"), "Invalid value for '--role'"),
        (("passwd", "anna", "--password-stdin"), "at least 12 characters"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(home, monkeypatch, capsys, args, message):
    code, _, err = _run(home, monkeypatch, capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
