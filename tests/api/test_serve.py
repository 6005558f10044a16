"""`civic serve`: its options and the gunicorn configuration they make."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import cli
from api.serve import CivicServer, gunicorn_options, warm
from opendata.settings import Settings


def test_serve_is_a_civic_subcommand_with_its_options():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--worker-class", "--threads", "--timeout"):
        assert option in result.output


def test_gunicorn_options_bind_the_settings_address_with_sync_workers():
    options = gunicorn_options(Settings(host="0.0.0.0", port=9123), workers=3, worker_class="sync",
                               threads=1, timeout=30)  # fmt: skip
    assert options["bind"] == "0.0.0.0:9123"
    assert (options["workers"], options["worker_class"], options["threads"]) == (3, "sync", 1)
    assert options["accesslog"] is None  # the app writes JSON access lines itself


def test_server_loads_the_app_for_its_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, rate_limit=0)
    server = CivicServer(settings, gunicorn_options(settings, workers=1, worker_class="gthread",
                                                    threads=4, timeout=10))  # fmt: skip
    assert server.cfg.worker_class_str == "gthread" and server.cfg.threads == 4
    app = server.load()
    assert app.config["CIVIC_SETTINGS"] is settings
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"


def test_a_worker_reads_the_street_names_before_its_first_request(bundled: Settings):
    """The first POST after a start must not pay for the names a scenario is checked against."""
    from twin.scenarios import dryrun

    dryrun._NAMES.items.clear()
    warm(bundled)
    (names,) = dryrun._NAMES.items.values()
    assert {"Mannerheimintie", "Mannerheimvägen"} <= names


def test_the_warm_up_never_stops_a_worker_on_an_empty_store(tmp_path):
    warm(Settings(data_dir=tmp_path / "empty"))  # no roads, no catalog yet: nothing raised
