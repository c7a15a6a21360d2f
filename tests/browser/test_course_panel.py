"""A student's whole first class, by mouse, in Chromium."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from .conftest import Shots, log_in, open_course_panel, record, run_palette_command


def session_card(page: Page, session_id: str):
    return page.locator(f'#course-hub-panel [data-session="{session_id}"]')


def open_session(page: Page, session_id: str, notebook: str) -> None:
    card = session_card(page, session_id)
    card.locator("summary").first.click()
    card.get_by_role("button", name="Open session").click()
    # The main notebook opens in a tab with the expected name.
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=notebook)
    expect(tab).to_be_visible(timeout=60_000)
    expect(card.locator(".jp-Course-report")).to_contain_text("Added:")
    expect(card.locator(".jp-Course-badge").first).to_have_text("up to date")


def test_first_class_by_mouse(hub, browser):
    ada = hub.student("ada")
    name = ada.name
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    shot = Shots(page, "student")
    t0 = time.monotonic()
    try:
        log_in(page, ada)
        open_course_panel(page)
        expect(page.locator("#course-hub-panel .jp-Course-empty")).to_contain_text(
            "No cluster yet"
        )
        shot("panel")

        open_session(page, "spark", "02-mapreduce-with-spark.ipynb")
        shot("spark-opened")
        open_session(page, "dask", "01-check-your-environment.ipynb")
        hint = page.locator("#course-hub-panel .jp-Course-hint")
        expect(hint).to_contain_text("Distributed Processing and Dask hands on")

        page.locator("#course-hub-panel .jp-Course-new").click()
        card = page.locator("#course-hub-panel [data-cluster]")
        expect(card).to_have_count(1, timeout=60_000)
        shot("cluster-starting")
        expect(card.locator(".jp-Course-clusterStatus")).to_have_text(
            "Running: workers 2/2", timeout=120_000
        )
        t_cluster = time.monotonic() - t0
        shot("cluster-running")

        # Insert the connection code into the open notebook and run it.
        card.get_by_role("button", name="Insert code").click()
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        active = notebook.locator(".jp-Cell.jp-mod-active")
        expect(active).to_contain_text("gateway.connect(")
        page.locator(
            '.jp-NotebookPanel:not(.lm-mod-hidden) [data-command="notebook:run-cell-and-select-next"]'
        ).click()
        client_cell = notebook.locator(".jp-Cell", has_text="gateway.connect(")
        # The client's rich view: connected through the gateway, dashboard behind the login.
        output = client_cell.locator(".jp-OutputArea-output")
        expect(output).to_contain_text("dask_gateway.GatewayCluster", timeout=120_000)
        expect(output).to_contain_text(f"/user/{name}/proxy/")
        # A computation on the cluster, typed as a student would.
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.keyboard.type("client.submit(sum, [1, 2, 39]).result()")
        page.keyboard.press("Shift+Enter")
        result = notebook.locator(".jp-Cell", has_text="client.submit(sum")
        expect(result.locator(".jp-OutputArea-output")).to_contain_text("42", timeout=60_000)
        t_result = time.monotonic() - t0
        shot("result-on-screen")

        # The dashboard, in a Lab tab, through the student's own logged-in server.
        card.get_by_role("button", name="Dashboard").click()
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Dask ")
        expect(tab).to_be_visible(timeout=30_000)
        iframe = page.locator("#jp-main-dock-panel iframe[src*='/status']")
        expect(iframe).to_have_attribute("src", re.compile(f"^/user/{name}/proxy/"))
        frame = iframe.element_handle(timeout=30_000).content_frame()
        frame.wait_for_load_state("load", timeout=60_000)
        assert "Dask" in frame.title(), frame.title()
        page.wait_for_timeout(2000)  # let the plots draw for the screenshot
        shot("dashboard")
        tab.locator(".lm-TabBar-tabCloseIcon").click()

        # Scale from the card: 2 -> 1 worker.
        card.get_by_role("spinbutton", name=re.compile("^Workers for cluster")).fill("1")
        card.get_by_role("button", name="Scale").click()
        expect(card.locator(".jp-Course-clusterStatus")).to_have_text(
            "Running: workers 1/1", timeout=120_000
        )

        # Stop, with confirmation: the card goes away.
        card.get_by_role("button", name="Stop cluster").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Stop this cluster?")
        shot("confirm-stop")
        dialog.locator(".jp-mod-warn").click()
        expect(card).to_have_count(0, timeout=60_000)
        expect(page.locator("#course-hub-panel .jp-Course-empty")).to_be_visible()
        shot("stopped")

        # Reload: the state comes from the server, and is right.
        page.reload()
        open_course_panel(page)
        # The current session is remembered and shown open; the other opens on a click.
        dask = session_card(page, "dask")
        expect(dask).to_have_class("jp-Course-session jp-mod-current")
        expect(dask.get_by_role("button", name="Open session")).to_have_text("Open again")
        spark = session_card(page, "spark")
        spark.locator("summary").first.click()
        expect(spark.get_by_role("button", name="Open session")).to_have_text("Open again")
        expect(spark.locator(".jp-Course-badge")).to_have_text(["up to date", "up to date"])
        expect(page.locator("#course-hub-panel [data-cluster]")).to_have_count(0)
        expect(page.locator("#course-hub-panel .jp-Course-empty")).to_be_visible()
        shot("after-reload")
        record(
            "first class",
            {
                "login_to_running_cluster_s": round(t_cluster, 1),
                "login_to_result_on_screen_s": round(t_result, 1),
            },
        )
        print(
            f"\nlogin -> cluster running {t_cluster:.1f} s; "
            f"login -> result on screen {t_result:.1f} s"
        )
    finally:
        context.close()


def test_another_student_sees_none_of_it(hub, browser):
    owner = hub.student("owner")
    owner.login()
    owner.start_server()
    r = owner.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        log_in(page, hub.student("other"))
        open_course_panel(page)
        expect(page.locator("#course-hub-panel .jp-Course-empty")).to_be_visible(timeout=30_000)
        expect(page.locator("#course-hub-panel [data-cluster]")).to_have_count(0)
        Shots(page, "other")("sees-no-cluster")
        assert [c["name"] for c in owner.api("GET", "/clusters").json()["clusters"]] == [name]
    finally:
        context.close()
        owner.api("DELETE", f"/clusters/{name}")


def test_palette_and_bad_options(hub, browser):
    """The palette opens a session; a refused option value gets a sentence, not a trace."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        log_in(page, hub.student("eve"))
        open_course_panel(page)
        run_palette_command(page, "Open a course session")
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Open a course session")
        dialog.locator("select").select_option(label="Big Data & Distributed Computing")
        dialog.locator(".jp-mod-accept").click()
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="01-mapreduce")
        expect(tab).to_be_visible(timeout=60_000)
        Shots(page, "palette")("session-opened")

        page.locator("#course-hub-panel").get_by_role("button", name="Options…").click()
        form = page.get_by_role("form", name="Cluster options")
        expect(form).to_be_visible(timeout=30_000)
        form.locator("label", has_text="Worker cores").locator("input").fill("16")
        form.get_by_role("button", name="Start cluster").click()
        expect(form.get_by_role("alert")).to_have_text("Worker cores must be at most 4.")
        Shots(page, "form")("refused")
        expect(page.locator("#course-hub-panel [data-cluster]")).to_have_count(0)
    finally:
        context.close()


def test_quiz_answers_are_checked_and_kept(hub, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    shot = Shots(page, "quiz")

    def open_quiz():
        card = session_card(page, "big-data")
        card.locator("summary").first.click()
        quiz = card.locator(".jp-Course-quizSection")
        quiz.locator("summary").click()
        expect(quiz.locator(".jp-Course-question")).to_have_count(10, timeout=30_000)
        return quiz

    try:
        log_in(page, hub.student("quiz"))
        open_course_panel(page)
        quiz = open_quiz()
        second = quiz.locator('[data-question="2"]')
        second.get_by_label("B. Shuffle").check()
        second.get_by_role("button", name="Check").click()
        expect(second.get_by_role("status")).to_contain_text("Right: B.")
        expect(second.get_by_role("status")).to_contain_text(
            "the shuffle sends every (key, value) pair"
        )
        first = quiz.locator('[data-question="1"]')
        first.get_by_label("B. Value, Veracity, Visualisation").check()
        first.get_by_role("button", name="Check").click()
        expect(first.get_by_role("status")).to_contain_text("the answer is A")
        expect(first.get_by_role("status")).to_contain_text("Value and Veracity were added later")
        expect(quiz.locator(".jp-Course-hint")).to_contain_text("2/10 answered, 1 right")
        shot("answered")

        page.reload()
        open_course_panel(page)
        quiz = open_quiz()
        second = quiz.locator('[data-question="2"]')
        expect(second.get_by_label("B. Shuffle")).to_be_checked()
        expect(second.get_by_role("status")).to_contain_text("Right: B.")
        shot("kept-after-reload")
    finally:
        context.close()


def test_a_cluster_made_in_code_adapts_and_stops_from_the_panel(hub, browser):
    """Clusters from notebook code show in the panel; adaptive bounds from the card;
    the palette's "Stop a Dask cluster…" with its confirmation."""
    student = hub.student("grace")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    shot = Shots(page, "code-cluster")
    try:
        log_in(page, student)
        open_course_panel(page)
        student.login()
        out = student.run_code(
            ["from dask_gateway import Gateway\nprint(Gateway().submit(session='dask'))"]
        )
        cluster = out[0].strip()
        card = page.locator(f'#course-hub-panel [data-cluster="{cluster}"]')
        expect(card).to_be_visible(timeout=60_000)
        expect(card.locator(".jp-Course-tag")).to_have_text("dask")
        expect(card.locator(".jp-Course-clusterStatus")).to_have_text(
            "Running: 0 workers", timeout=120_000
        )
        shot("made-in-code")

        card.get_by_role("spinbutton", name=re.compile("^Minimum workers")).fill("1")
        card.get_by_role("spinbutton", name=re.compile("^Maximum workers")).fill("2")
        card.get_by_role("button", name="Adapt").click()
        expect(card.locator(".jp-Course-clusterStatus")).to_have_text(
            "Running: 1 worker (adaptive 1-2)", timeout=120_000
        )
        shot("adaptive")

        run_palette_command(page, "Stop a Dask cluster")
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Stop this cluster?")
        dialog.locator(".jp-mod-warn").click()
        expect(card).to_have_count(0, timeout=60_000)
        running = [
            c for c in student.api("GET", "/clusters").json()["clusters"] if c["name"] == cluster
        ]
        assert running == [], running
        shot("stopped")
    finally:
        context.close()
