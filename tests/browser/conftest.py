"""Browser tier: Playwright for Python driving Debian's Chromium through the
Course panel, against the real hub `make hub` runs (started like the e2e
tier's). Screenshots of every step go to .test-artifacts/browser/.

Chromium must be installed (`make test` installs it: tests/setup-machine): a missing browser is a
failure, never a skip.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ..e2e.conftest import ARTIFACTS, start_hub
from ..hubclient import Student

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = ARTIFACTS / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def hub(tmp_path_factory, request):
    hub = start_hub(tmp_path_factory.mktemp("browser-hub"), "browser-hub")
    yield hub
    hub.stop()
    if request.session.testsfailed:
        print(f"\n--- last lines of {hub.log_path} ---\n{hub.log_tail()}")
    hub.wait_all_stopped()


@pytest.fixture(scope="session")
def browser() -> Browser:
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, page: Page, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.n = 0

    def __call__(self, step: str) -> Path:
        self.n += 1
        path = SHOTS / f"{self.prefix}-{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path))
        return path


def log_in(page: Page, student: Student) -> None:
    """The hub's login form with the student's own password (``hub.student()``
    enrolled them), then JupyterLab in their new server."""
    hub_url, name = student.hub_url, student.name
    page.goto(f"{hub_url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", student.password or "")
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
    page.goto(f"{hub_url}/user/{name}/lab?reset")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)


def open_course_panel(page: Page) -> None:
    tab = page.locator('.jp-SideBar [data-id="course-hub-panel"]')
    panel = page.locator("#course-hub-panel")
    expect(tab).to_be_visible(timeout=60_000)
    # JupyterLab may still be restoring its layout: click until the panel shows.
    for _ in range(10):
        if panel.is_visible():
            break
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        page.wait_for_timeout(500)
    expect(panel).to_be_visible()
    expect(page.locator("#course-hub-panel .jp-Course-sessions")).to_be_visible(timeout=30_000)


def run_palette_command(page: Page, label: str, timeout: float = 60) -> None:
    """Run a command by its label through the command palette.

    Chromium keeps Ctrl+Shift+C for its inspector: use the View menu. Lab may
    still be settling (restoring its layout) and close the palette again: open
    it until it stays open long enough to take the label, within ``timeout``.
    """
    palette = page.locator(".lm-CommandPalette-input")
    end = time.monotonic() + timeout
    while True:
        page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
        page.locator(".lm-Menu-itemLabel", has_text="Activate Command Palette").click()
        try:
            expect(palette).to_be_visible(timeout=3000)
            palette.fill(label, timeout=3000)
            expect(palette).to_have_value(label, timeout=1000)
            page.keyboard.press("Enter")
            return
        except (AssertionError, PlaywrightTimeoutError):
            if time.monotonic() > end:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(500)


def record(name: str, values: dict) -> None:
    path = SHOTS / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {**values, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path.write_text(json.dumps(data, indent=2))
