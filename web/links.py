"""`url_for` for the templates: a link without values is the same on every request to one mount point, so
it is built once per process (a page shows a dozen: the navigation, its forms, the style sheet)."""

from __future__ import annotations

from flask import Flask, request, url_for

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    built: dict[tuple[str, str, str], str] = {}

    def template_url_for(endpoint: str, **values) -> str:
        if endpoint.startswith(".") or (values and (endpoint != "static" or values.keys() != {"filename"})):
            return url_for(endpoint, **values)  # relative to the page's blueprint, or values of the request
        key = (endpoint, values.get("filename", ""), request.script_root)
        try:
            return built[key]
        except KeyError:
            built[key] = link = url_for(endpoint, **values)
            return link

    app.jinja_env.globals["url_for"] = template_url_for
