"""The templates' `url_for` (Flask's own): links follow the mount point of each request and the values of each call."""

from __future__ import annotations

from flask import render_template_string

LINKS = ("{{ url_for('auth.home') }}|{{ url_for('static', filename='vidoro.css') }}|"
         "{{ url_for('worklist.work_list', page=2) }}")


def test_links_follow_the_mount_point_and_the_values_of_each_call(app):
    seen = {}
    for root in ("", "/vidoro", "", "/other/place", "/vidoro"):
        with app.test_request_context("/cases", base_url=f"http://127.0.0.1{root}"):
            seen.setdefault(root, set()).add(render_template_string(LINKS))
    assert seen == {root: {f"{root}/|{root}/static/vidoro.css|{root}/cases?page=2"}
                    for root in ("", "/vidoro", "/other/place")}
    with app.test_request_context("/cases"):
        assert render_template_string("{{ url_for('worklist.work_list', page=3) }}") == "/cases?page=3"
        assert render_template_string("{{ url_for('static', filename='other.css') }}") == "/static/other.css"
