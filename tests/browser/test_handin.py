"""Hand-in by mouse, in Chromium, on the real hub with its course service.

A student opens the evaluation, types in the assignment notebook without
saving, and clicks "Hand in": the panel saves the notebook first, the
service keeps it, and the receipt shows. The teacher then sees the hand-in
listed in their own panel and downloads it, alone and in the zip of all.
"""

from __future__ import annotations

import datetime
import io
import re
import time
import zipfile

import pytest
import yaml
from playwright.sync_api import Page, expect

from ..e2e.conftest import ADMIN_PASSWORD
from ..hubclient import Student
from .conftest import Shots, log_in, open_course_panel, record

SESSION = "evaluation"
NOTEBOOK = "01-taxi-fare.ipynb"
MARKER = "handed_in_marker = 4242"


@pytest.fixture(scope="module")
def assignment(hub):
    """The evaluation gets an assignment due in two days (the hub's copy of the course)."""
    path = hub.content / "course.yml"
    original = path.read_text()
    manifest = yaml.safe_load(original)
    session = next(s for s in manifest["sessions"] if s["id"] == SESSION)
    due = datetime.datetime.now() + datetime.timedelta(days=2)
    session["assignment"] = {
        "notebooks": [NOTEBOOK],
        "deadline": due.strftime("%Y-%m-%d %H:%M"),
        "timezone": "Europe/Paris",
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    yield session["assignment"]
    path.write_text(original)


def evaluation_card(page: Page):
    card = page.locator(f'#course-hub-panel [data-session="{SESSION}"]')
    card.locator("summary").first.click()
    return card


def test_student_hands_in_from_the_panel_teacher_sees_it(hub, browser, assignment):
    student = hub.student("handin")
    t0 = time.monotonic()

    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    shot = Shots(page, "handin-student")
    try:
        log_in(page, student)
        open_course_panel(page)
        card = evaluation_card(page)
        block = card.locator(".jp-Course-assignment")
        expect(block).to_be_visible(timeout=30_000)
        expect(block.locator(".jp-Course-deadline")).to_contain_text("(Europe/Paris)")
        expect(block.get_by_role("timer")).to_contain_text(re.compile(r"^1 d \d+ h left$"))
        card.get_by_role("button", name="Open session").click()
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=NOTEBOOK)
        expect(tab).to_be_visible(timeout=60_000)
        shot("opened")

        # Type in the notebook without saving: the tab shows unsaved changes.
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        notebook.locator(".jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.type(MARKER)
        page.keyboard.press("Escape")
        expect(tab).to_have_class(re.compile(r"jp-mod-dirty"), timeout=10_000)

        card.get_by_role("button", name=f"Hand in {NOTEBOOK}").click()
        receipt = card.locator(".jp-Course-receipt")
        expect(receipt).to_have_text(
            re.compile(r"^Handed in \d\d:\d\d:\d\d, [\d.]+ kB$"), timeout=60_000
        )
        # Saved first: the file handed in has the unsaved cell (checked below;
        # the tab itself may turn dirty again when the kernel's metadata arrives).
        t_receipt = time.monotonic() - t0
        shot("receipt")
    finally:
        context.close()

    student.login()
    listing = student.api("GET", f"/sessions/{SESSION}/handins").json()
    [mine] = listing["handins"]
    handed = student.api("GET", f"/handins/{mine['id']}")
    assert handed.status_code == 200
    assert MARKER in handed.text
    assert mine["size"] == len(handed.content) and mine["late"] is False

    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    context = browser.new_context(viewport={"width": 1440, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    shot = Shots(page, "handin-teacher")
    try:
        log_in(page, teacher)
        open_course_panel(page)
        card = evaluation_card(page)
        row = card.locator(f'.jp-Course-handinList li[data-user="{student.name}"]')
        expect(row).to_be_visible(timeout=30_000)
        expect(row).to_contain_text("kB")
        expect(card.get_by_role("button", name=f"Hand in {NOTEBOOK}")).to_have_count(0)
        shot("listed")

        with page.expect_download() as one:
            row.get_by_role("link", name=f"Download {student.name}'s {NOTEBOOK}").click()
        assert MARKER in one.value.path().read_text()

        with page.expect_download() as everything:
            card.get_by_role("link", name="Download all (zip)").click()
        with zipfile.ZipFile(io.BytesIO(everything.value.path().read_bytes())) as zf:
            names = zf.namelist()
            assert f"{student.name}/{NOTEBOOK}" in names and "index.csv" in names
            assert MARKER in zf.read(f"{student.name}/{NOTEBOOK}").decode()
            assert student.name in zf.read("index.csv").decode()
        t_teacher = time.monotonic() - t0
    finally:
        context.close()
    record(
        "handin",
        {"receipt_seconds": round(t_receipt, 1), "teacher_done_seconds": round(t_teacher, 1)},
    )
