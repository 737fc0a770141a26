"""The health page and the headers on every response, through Flask's test client on both databases."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.engine import make_url

from cases import Database
from cases.crypto.keys import FileKeyStore
from cases.flowcharts import current_engine
from tests.conftest import POSTGRES_URL
from web import create_app

HEAD = "0030"


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_url(request, tmp_path) -> str:
    """A database that cannot be opened: a SQLite file in a missing folder, or a port nobody listens on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'missing' / 'folder' / 'vidoro.db'}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return make_url(POSTGRES_URL).set(port=port).render_as_string(hide_password=False)


@pytest.fixture
def client_for(tmp_path):
    """A test client of an app on the given database; the app's engine is disposed afterwards."""
    apps = []

    def make(url: str):
        keys = tmp_path / "keys"
        FileKeyStore.create(keys).close()
        app = create_app({"VIDORO_DATABASE_URL": url, "VIDORO_HOME": tmp_path / "instance", "VIDORO_KEYS": keys})
        app.testing = True
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["vidoro.db"].dispose()


def assert_security_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_health_is_ok_on_a_migrated_database(client_for, db_url):
    response = client_for(db_url).get("/health")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "ok", "schema": "current", "flowchart": current_engine().version[:12],
    }


@pytest.mark.parametrize("revision", [None, "0001"], ids=["empty", "at-0001"])
def test_health_is_degraded_while_the_schema_is_not_current(client_for, blank_url, revision):
    if revision:
        database = Database(blank_url)
        database.upgrade(revision)
        database.dispose()
    response = client_for(blank_url).get("/health")
    assert response.status_code == 503
    report = response.get_json()
    assert report["status"] == "degraded"
    assert report["schema"] == f"needs upgrade ({revision} < {HEAD})"
    assert_security_headers(response)


def test_health_turns_ok_once_the_database_is_migrated(client_for, blank_url):
    """The same running app notices the upgrade: health is checked on each request, not cached."""
    client = client_for(blank_url)
    assert client.get("/health").status_code == 503
    database = Database(blank_url)
    database.upgrade()
    database.dispose()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_health_is_unavailable_when_the_database_cannot_be_reached(client_for, unreachable_url):
    response = client_for(unreachable_url).get("/health")
    assert response.status_code == 503
    report = response.get_json()
    assert report["status"] == "unavailable"
    assert report["database"] == "OperationalError"
    body = response.get_data(as_text=True)
    assert "missing" not in body and "127.0.0.1" not in body  # no URL or path in a public answer
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/", "/health", "/no-such-page"])
def test_every_response_carries_the_security_headers(client_for, db_url, path):
    assert_security_headers(client_for(db_url).get(path))


def test_the_start_page_sends_a_visitor_to_a_swedish_sign_in_page(client_for, db_url):
    client = client_for(db_url)
    start = client.get("/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/sign-in")
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert '<html lang="sv">' in response.get_data(as_text=True)


def test_an_unknown_route_is_404(client_for, db_url):
    client = client_for(db_url)
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/health/extra").status_code == 404
    assert client.post("/health").status_code == 405
