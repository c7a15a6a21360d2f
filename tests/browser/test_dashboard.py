"""A Dask dashboard really renders for its owner, in Chromium, and not for a classmate.

The owner opens her cluster's dashboard link (through her own server, which
adds its hub token; the gateway checks it and forwards to the scheduler): the
bokeh plots draw, which needs the page, its scripts and the bokeh websocket to
pass that whole chain. A classmate logged in in another browser opens the same
address through his own server and gets a refusal, no plot.
"""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import Shots, log_in


def test_the_dashboard_renders_for_its_owner_only(hub, browser):
    owner, classmate = hub.student("dash"), hub.student("peer")
    pages = []
    try:
        for student in (owner, classmate):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            pages.append(page)
            log_in(page, student)
            student.login()  # an API token, for the course API
        r = owner.api("POST", "/clusters", json={"workers": 1})
        assert r.status_code == 201, r.text
        model = r.json()
        try:
            link = model["dashboard_link"]
            assert link.startswith(f"/user/{owner.name}/proxy/")
            mine, theirs = pages
            shot = Shots(mine, "dashboard")
            response = mine.goto(hub.url + link)
            assert response is not None and response.status == 200
            expect(mine).to_have_title("Dask: Status", timeout=60_000)
            # Bokeh draws into canvases once its websocket delivered the document.
            expect(mine.locator("canvas").first).to_be_visible(timeout=60_000)
            shot("owner")

            his = link.replace(f"/user/{owner.name}/", f"/user/{classmate.name}/", 1)
            response = theirs.goto(hub.url + his)
            assert response is not None and response.status in (403, 404), response.status
            theirs.wait_for_timeout(1000)
            assert theirs.locator("canvas").count() == 0
            Shots(theirs, "dashboard")("classmate")
        finally:
            owner.api("DELETE", f"/clusters/{model['name']}")
    finally:
        for page in pages:
            page.context.close()
