"""What every response carries: security headers, the session cookie's attributes, the signing secret.

The session cookie holds only a random session token (the session itself is on the server, see
`cases.staff.accounts`), the CSRF token and the language. Over HTTPS it is `__Host-vidoro`: Secure, no Domain,
Path=/, so no other host or path can set or read it; over plain HTTP (local development) it is `vidoro`.
Always HttpOnly and SameSite=Lax. Behind a TLS proxy set VIDORO_PROXIES to the number of proxies whose
X-Forwarded-* headers are trusted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["CSP", "init_app", "secret_key"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECRET_FILE = "web-secret.key"  # noqa: S105 - a file name, not a secret


class _SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, named and flagged by whether this request came over HTTPS."""

    def get_cookie_name(self, app: Flask) -> str:
        return "__Host-vidoro" if request.is_secure else "vidoro"

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure

    def get_cookie_domain(self, app: Flask) -> None:
        return None

    def get_cookie_path(self, app: Flask) -> str:
        return "/"


def secret_key(folder: Path) -> bytes:
    """The key that signs session cookies: kept beside the other keys, created once, owner-only.

    Every serving process builds its app at once after the fork, so the first start races to create it:
    the key is written whole to a file of this process's own and then linked into place, which fails if
    another process got there first. A reader never sees the file half written (an empty key was a 500)."""
    path = Path(folder) / SECRET_FILE
    if not path.exists():
        fd, name = tempfile.mkstemp(prefix=f"{SECRET_FILE}.", suffix=".partial", dir=folder)  # owner-only
        partial = Path(name)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs stands
                os.link(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=
                      app.config["VIDORO_SESSION_MAX"])
    proxies = app.config.get("VIDORO_PROXIES", 0)
    if proxies:
        # Flask's documented way to put middleware around the application (mypy takes it for a method)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # same-origin: over HTTPS the CSRF check also wants the form to come from this site (WTF_CSRF_SSL_STRICT)
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"  # case pages must not stay in a shared computer's cache
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
