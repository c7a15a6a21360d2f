"""Each student's own account, on the real local hub: nobody opens a classmate's
home, failed logins lock a name, teachers enrol and reset, students change
their password; the roster's handout, the sign-up window and workshop mode on
hubs of their own."""

from __future__ import annotations

import csv
import re
import stat
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from course_hub.hubclient import enroll, reset_password

from ..hubclient import HubError, Student
from .conftest import ADMIN_PASSWORD, PASSWORD, start_hub

ACCOUNTS_API = "/hub/api/course/accounts"


def refused(hub_url: str, name: str, password: str) -> str:
    """Log in and expect a refusal; return the login page's sentence."""
    with pytest.raises(HubError) as info:
        Student(hub_url, name, password).login()
    return str(info.value)


def form(hub_url: str, path: str, data: dict, browser: requests.Session | None = None):
    """Post a hub form as a browser does (XSRF cookie from the page first)."""
    browser = browser or requests.Session()
    page = browser.get(f"{hub_url}{path}", timeout=30)
    assert page.status_code == 200, (path, page.status_code)
    xsrf = browser.cookies.get("_xsrf", path="/hub/")
    return browser.post(f"{hub_url}{path}", data={**data, "_xsrf": xsrf}, timeout=30)


def test_a_classmates_name_opens_nothing(hub):
    alice, bob = hub.student("alice"), hub.student("bob")
    bob.login()
    assert "wrong password" in refused(hub.url, alice.name, bob.password)
    refused(hub.url, alice.name, PASSWORD)  # the old course password
    refused(hub.url, "nobody-" + alice.name, bob.password)
    alice.login()  # her own password still works (two failures do not lock)


def test_teacher_resets_a_password(hub):
    carl = hub.student("carl")
    carl.login()
    new = reset_password(hub.url, hub.admin_token, carl.name)
    assert new != carl.password
    refused(hub.url, carl.name, carl.password)
    Student(hub.url, carl.name, new).login()
    # Enrolling an existing name keeps its password.
    assert enroll(hub.url, hub.admin_token, [carl.name]) == {}
    Student(hub.url, carl.name, new).login()


def test_the_accounts_api_is_for_teachers_only(hub):
    dan = hub.student("dan")
    dan.login()
    for path in ("", f"/{dan.name}/reset"):
        r = dan.hub_api("POST", f"/course/accounts{path}", json={"users": ["dan-friend"]})
        assert r.status_code == 403, r.text
        r = requests.post(f"{hub.url}{ACCOUNTS_API}{path}", json={"users": ["x"]}, timeout=30)
        assert r.status_code == 403, r.text
    teacher = {"Authorization": f"token {hub.admin_token}"}
    for body, words in [
        ({"users": "dan"}, "a list of user names"),
        ({}, "a list of user names"),
        ({"users": ["two words"]}, "not a valid user name"),
        ({"users": ["teacher"]}, "is a teacher"),
    ]:
        r = requests.post(f"{hub.url}{ACCOUNTS_API}", json=body, headers=teacher, timeout=30)
        assert r.status_code == 400 and words in r.json()["message"], r.text
    r = requests.post(f"{hub.url}{ACCOUNTS_API}/nobody-here/reset", headers=teacher, timeout=30)
    assert r.status_code == 404 and "no account" in r.json()["message"]
    r = requests.post(
        f"{hub.url}{ACCOUNTS_API}", json={"users": ["ok-1", "ok-2"]}, headers=teacher, timeout=30
    )
    assert r.status_code == 201 and sorted(r.json()["created"]) == ["ok-1", "ok-2"]


def test_students_change_their_own_password(hub):
    eva = hub.student("eva")
    eva.login()
    change = {"old_password": eva.password, "new_password_confirmation": ""}
    r = form(hub.url, "/hub/change-password", {**change, "new_password": "é" * 40,
             "new_password_confirmation": "é" * 40}, eva.browser)  # fmt: skip
    assert r.status_code == 200 and "at most 72 bytes" in r.text
    new = "eva's own new password"
    r = form(hub.url, "/hub/change-password", {**change, "new_password": new,
             "new_password_confirmation": new}, eva.browser)  # fmt: skip
    assert r.status_code == 200 and "changed successfully" in r.text, r.text
    refused(hub.url, eva.name, eva.password)
    Student(hub.url, eva.name, new).login()
    # The teacher's password is the admin password, set at each start: not here.
    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    teacher.login()
    data = {"old_password": ADMIN_PASSWORD, "new_password": new,
            "new_password_confirmation": new}  # fmt: skip
    r = form(hub.url, "/hub/change-password", data, teacher.browser)
    assert r.status_code == 200 and "COURSE_ADMIN_PASSWORD" in r.text
    Student(hub.url, "teacher", ADMIN_PASSWORD).login()


def test_an_overlong_password_gets_a_sentence_not_an_error(hub):
    fay = hub.student("fay")
    message = refused(hub.url, fay.name, "x" * 100)
    assert "at most 72 bytes" in message


def test_no_signup_page_by_default(hub):
    assert requests.get(f"{hub.url}/hub/signup", timeout=30).status_code == 404


# ------------------------------------------------- hubs with a roster


def handouts(state: Path) -> list[Path]:
    return sorted((state / "secrets").glob("handout-*.csv"))


def test_roster_signup_window_handout_and_lockout(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("# the class\nana\nben\ncleo\n")
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="minutes")
    settings = {
        "COURSE_ROSTER": str(roster),
        "COURSE_LOGIN_MAX_FAILURES": "3",
        "COURSE_LOGIN_LOCKOUT_SECONDS": "3",
    }
    # 1. Sign-up open: roster names choose their own password; no handout yet.
    hub = start_hub(
        tmp_path / "a", "e2e-accounts-signup", {**settings, "COURSE_SIGNUP_UNTIL": until}
    )
    state = hub.state
    try:
        assert handouts(state) == []
        assert "/hub/signup" in requests.get(f"{hub.url}/hub/login", timeout=30).text

        def sign_up(name: str, password: str) -> str:
            data = {"username": name, "signup_password": password,
                    "signup_password_confirmation": password}  # fmt: skip
            r = form(hub.url, "/hub/signup", data)
            assert r.status_code == 200, r.text
            return r.text

        for intruder in ("teacher", "Teacher", "mallory"):
            assert "only names on the course roster" in sign_up(intruder, "a long password 1")
        refused(hub.url, "teacher", "a long password 1")
        assert "account is ready" in sign_up("ana", "ana's own password")
        assert "only names on the course roster" in sign_up("ana", "taking it over 1")
        Student(hub.url, "ana", "ana's own password").login()
        Student(hub.url, "teacher", ADMIN_PASSWORD).login()
    finally:
        hub.stop()

    # 2. The window closed: the rest get a handout, once; ana keeps her password.
    again = {**settings, "COURSE_STATE_DIR": str(state)}
    hub = start_hub(tmp_path / "b", "e2e-accounts-roster", again)
    try:
        (handout,) = handouts(state)
        assert stat.S_IMODE(handout.stat().st_mode) == 0o600
        rows = {r["name"]: r["password"] for r in csv.DictReader(handout.open())}
        assert sorted(rows) == ["ben", "cleo"]
        Student(hub.url, "ana", "ana's own password").login()
        Student(hub.url, "cleo", rows["cleo"]).login()
        assert requests.get(f"{hub.url}/hub/signup", timeout=30).status_code == 404
        log = hub.log_path.read_text()
        assert str(handout) in log
        assert not any(p in log for p in rows.values())
        # 3. Failed logins lock the name, even for the right password, for a while.
        for _ in range(3):
            refused(hub.url, "ben", "not ben's password")
        assert "Too many failed logins" in refused(hub.url, "ben", rows["ben"])
        time.sleep(4.5)
        Student(hub.url, "ben", rows["ben"]).login()
        # Only the teacher may enrol, and only roster names.
        r = requests.post(
            f"{hub.url}{ACCOUNTS_API}",
            json={"users": ["mallory"]},
            headers={"Authorization": f"token {hub.admin_token}"},
            timeout=30,
        )
        assert r.status_code == 400 and "not on the roster" in r.json()["message"]
    finally:
        hub.stop()

    # 4. Another start: nothing new to hand out, nothing rewritten.
    hub = start_hub(tmp_path / "c", "e2e-accounts-restart", again)
    try:
        assert handouts(state) == [handout]
        assert {r["name"]: r["password"] for r in csv.DictReader(handout.open())} == rows
        Student(hub.url, "ben", rows["ben"]).login()
        assert not re.search(r"Made \d+ account", hub.log_path.read_text())
    finally:
        hub.stop()


def test_workshop_mode_still_works_and_warns(tmp_path):
    hub = start_hub(tmp_path, "e2e-accounts-workshop", {"COURSE_AUTH": "workshop"})
    try:
        anyone = hub.student("guest")
        assert anyone.password == PASSWORD
        anyone.login()
        Student(hub.url, "teacher", ADMIN_PASSWORD).login()
        assert "WORKSHOP MODE (COURSE_AUTH=workshop): every student" in hub.log_path.read_text()
        r = anyone.hub_api("POST", "/course/accounts", json={"users": ["x"]})
        assert r.status_code == 404  # no accounts here
    finally:
        hub.stop()


def test_the_accounts_cli(hub, tmp_path):
    """`course-hub accounts add|reset`, as a teacher types it."""
    cli = [str(Path(sys.executable).parent / "course-hub"), "accounts"]
    where = ["--hub", hub.url, "--token", hub.admin_token]
    name = f"gil-{uuid.uuid4().hex[:6]}"
    slips = tmp_path / "slips.csv"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args, *where], capture_output=True, text=True, timeout=60)

    proc = run("add", name, "--csv", str(slips))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(slips.stat().st_mode) == 0o600
    (row,) = csv.DictReader(slips.open())
    Student(hub.url, name, row["password"]).login()
    proc = run("add", name)  # again: nothing new, said so
    assert proc.returncode == 0 and proc.stdout == "" and "has an account already" in proc.stderr
    proc = run("reset", name)
    assert proc.returncode == 0, proc.stderr
    (new,) = csv.DictReader(proc.stdout.splitlines())
    Student(hub.url, name, new["password"]).login()
    proc = run("add", "two words")
    assert proc.returncode == 1 and "not a valid user name" in proc.stderr
    proc = subprocess.run([*cli, "add", name, "--hub", hub.url], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert proc.returncode == 2 and "give --token" in proc.stderr
