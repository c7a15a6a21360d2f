"""A live quiz in class, by mouse, in three Chromium windows on the real hub.

Two students work in JupyterLab with the Course panel collapsed; the teacher
opens the projected live view from the palette and types a question in the
panel. Each student sees the badge on the Course tab (the panel does not open
by itself) and answers; the teacher's bars count every click, including a
student changing their mind; Close and Reveal reach both students' panels,
and the CSV has one row per student.
"""

from __future__ import annotations

import csv
import io
import re
import time

from playwright.sync_api import Page, expect

from ..e2e.conftest import ADMIN_PASSWORD
from ..hubclient import Student
from .conftest import Shots, log_in, open_course_panel, record, run_palette_command

QUESTION = "Which operation moves data between workers?"
CHOICES = ["map", "shuffle", "persist"]
EXPLANATION = "A shuffle sends each key to the worker that owns it."
# The target: what a click does reaches the other side within 2 s; the
# browser's long-poll round trip plus rendering gets a little more here.
LIVE = 5_000


def course_tab(page: Page):
    return page.locator('.jp-SideBar [data-id="course-hub-panel"]')


def choice_button(page: Page, index: int):
    return page.locator(f'#course-hub-panel .jp-Course-live [data-choice="{index}"]')


def bar_count(view, index: int):
    return view.locator(f'.jp-Course-liveBar[data-choice="{index}"] .jp-Course-liveBarCount')


def test_live_question_from_open_to_reveal(hub, browser):
    students = [hub.student("live"), hub.student("live")]
    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    contexts = []
    try:
        pages = []
        for who in students:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(context)
            page = context.new_page()
            log_in(page, who)
            pages.append(page)
        context = browser.new_context(
            viewport={"width": 1440, "height": 1100}, accept_downloads=True
        )
        contexts.append(context)
        lecturer = context.new_page()
        log_in(lecturer, teacher)
        shots = [Shots(p, f"live-student{i + 1}") for i, p in enumerate(pages)]
        shot = Shots(lecturer, "live-teacher")

        # The teacher opens the projected view from the palette, then asks.
        open_course_panel(lecturer)
        section = lecturer.locator('#course-hub-panel [aria-label="Live quiz"]')
        expect(section).to_be_visible(timeout=30_000)
        run_palette_command(lecturer, "Course: open the live quiz view")
        view = lecturer.locator("#course-live-view .jp-Course-liveView")
        expect(view).to_be_visible(timeout=30_000)
        section.get_by_label("Type a question").check()
        section.get_by_label("Question text").fill(QUESTION)
        for i, text in enumerate(CHOICES):
            if i >= 3:
                section.get_by_role("button", name="Add a choice").click()
            section.get_by_role("textbox", name=f"Choice {'ABC'[i]}").fill(text)
        section.get_by_label("Right answer").select_option(label="B. shuffle")
        section.get_by_label("Explanation (shown at the reveal)").fill(EXPLANATION)
        t_open = time.monotonic()
        section.get_by_role("button", name="Open for the class").click()
        expect(view.locator(".jp-Course-liveViewText")).to_have_text(QUESTION, timeout=LIVE)
        expect(view.locator(".jp-Course-liveTally")).to_have_text(
            re.compile(r"^0 answered of (?:[2-9]|[1-9]\d+) online$"), timeout=30_000
        )
        shot("opened")

        # Each student: the badge on the collapsed Course tab, nothing opens by itself.
        for page, s in zip(pages, shots, strict=True):
            expect(course_tab(page)).to_have_class(re.compile(r"\bjp-mod-live\b"), timeout=LIVE)
            expect(page.locator("#course-hub-panel")).to_be_hidden()
            s("badge")
        t_badge = time.monotonic() - t_open
        for page in pages:
            course_tab(page).click()
            expect(page.locator("#course-hub-panel .jp-Course-liveText")).to_have_text(QUESTION)

        # Student 1 says A, student 2 says C: the teacher's bars count each click.
        t_click = time.monotonic()
        choice_button(pages[0], 0).click()
        expect(bar_count(view, 0)).to_have_text("1", timeout=LIVE)
        t_bar = time.monotonic() - t_click
        expect(choice_button(pages[0], 0)).to_have_attribute("aria-pressed", "true")
        expect(course_tab(pages[0])).not_to_have_class(re.compile(r"\bjp-mod-live\b"))
        choice_button(pages[1], 2).click()
        expect(bar_count(view, 2)).to_have_text("1", timeout=LIVE)
        expect(view.locator(".jp-Course-liveTally")).to_have_text(
            re.compile(r"^2 answered of "), timeout=LIVE
        )
        shot("two-answers")

        # Student 1 changes their mind: A down, B up, still two answers.
        choice_button(pages[0], 1).click()
        expect(bar_count(view, 1)).to_have_text("1", timeout=LIVE)
        expect(bar_count(view, 0)).to_have_text("0", timeout=LIVE)
        expect(bar_count(view, 2)).to_have_text("1")
        expect(view.locator(".jp-Course-liveTally")).to_have_text(re.compile(r"^2 answered of "))
        expect(choice_button(pages[0], 1)).to_have_attribute("aria-pressed", "true")
        expect(choice_button(pages[0], 0)).to_have_attribute("aria-pressed", "false")
        shots[0]("changed")
        shot("changed")

        # Close: the students wait for the answer and cannot click any more.
        view.get_by_role("button", name="Close").click()
        for page in pages:
            live = page.locator("#course-hub-panel .jp-Course-live")
            expect(live.get_by_role("status")).to_have_text(
                "Closed, waiting for the answer", timeout=LIVE
            )
            expect(choice_button(page, 0)).to_be_disabled()

        # Reveal: the answer and the explanation reach both, each marked right or wrong.
        t_reveal = time.monotonic()
        view.get_by_role("button", name="Reveal").click()
        first = pages[0].locator("#course-hub-panel .jp-Course-live").get_by_role("status")
        second = pages[1].locator("#course-hub-panel .jp-Course-live").get_by_role("status")
        expect(first).to_contain_text("Right: B. shuffle", timeout=LIVE)
        expect(second).to_contain_text(
            "Not quite: you chose C, the answer is B. shuffle", timeout=LIVE
        )
        t_revealed = time.monotonic() - t_reveal
        for status in (first, second):
            expect(status).to_contain_text(EXPLANATION)
        expect(choice_button(pages[1], 2)).to_have_class(re.compile(r"jp-mod-wrong"))
        expect(choice_button(pages[1], 1)).to_have_class(re.compile(r"jp-mod-correct"))
        expect(view.locator('.jp-Course-liveBar[data-choice="1"]')).to_have_class(
            re.compile(r"jp-mod-correct")
        )
        for s in shots:
            s("revealed")
        shot("revealed")

        # The CSV: one row per student with their last choice; the history lists it.
        with lecturer.expect_download() as download:
            view.get_by_role("link", name="Download CSV").click()
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        by_user = {r["user"]: r for r in rows}
        assert set(by_user) == {s.name for s in students}, rows
        assert by_user[students[0].name]["choice_text"] == "shuffle"
        assert by_user[students[1].name]["choice_text"] == "persist"
        history = view.locator(".jp-Course-liveHistory li").filter(has_text=QUESTION)
        expect(history).to_have_count(1, timeout=LIVE)
    finally:
        for context in contexts:
            context.close()
    record(
        "live_quiz",
        {
            "badge_seconds": round(t_badge, 2),
            "click_to_bar_seconds": round(t_bar, 2),
            "reveal_to_students_seconds": round(t_revealed, 2),
        },
    )
