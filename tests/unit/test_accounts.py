"""The per-student accounts' rules (course_hub.hub.accounts) on a real JupyterHub
database: sign-up window and roster, teachers' names, the admin password,
bcrypt's 72-byte limit, lockout, enrolment and reset, handouts."""

from __future__ import annotations

import asyncio
import csv
import stat
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from jupyterhub import orm
from nativeauthenticator.orm import UserInfo
from traitlets import TraitError

from course_hub.hub.accounts import AccountError, CourseAuthenticator, auth_mode

ADMIN_PASSWORD = "a teacher's password, 32 chars long"
ROSTER = {"ada", "grace", "alan"}


@pytest.fixture
def db():
    session = orm.new_session_factory("sqlite:///:memory:")()
    yield session
    session.close()


@pytest.fixture
def make(db, tmp_path, monkeypatch):
    for name in (
        "COURSE_SIGNUP_UNTIL",
        "COURSE_LOGIN_MAX_FAILURES",
        "COURSE_LOGIN_LOCKOUT_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)

    def make(**kw) -> CourseAuthenticator:
        kw.setdefault("admin_users", {"teacher"})
        kw.setdefault("admin_password", ADMIN_PASSWORD)
        kw.setdefault("handout_dir", str(tmp_path / "secrets"))
        if "allowed_users" not in kw:
            kw["allow_all"] = True
        return CourseAuthenticator(_deprecated_db_session=db, db=db, **kw)

    return make


def login(auth: CourseAuthenticator, name: str, password: str) -> str | None:
    return asyncio.run(auth.authenticate(None, {"username": name, "password": password}))


def enroll(auth: CourseAuthenticator, names: list) -> tuple[dict[str, str], list[str]]:
    return asyncio.run(auth.enroll(names))


def reset(auth: CourseAuthenticator, name: str) -> str:
    return asyncio.run(auth.reset_password(name))


def soon(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def test_defaults_closed_signup_and_lockout(make):
    auth = make()
    assert auth.enable_signup is False and not auth.signup_open()
    assert (auth.allowed_failed_logins, auth.seconds_before_next_try) == (5, 60)
    assert auth.minimum_password_length == 8 and auth.check_common_password


def test_settings_from_the_environment(make, monkeypatch):
    monkeypatch.setenv("COURSE_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("COURSE_LOGIN_LOCKOUT_SECONDS", "10")
    auth = make()
    assert (auth.allowed_failed_logins, auth.seconds_before_next_try) == (3, 10)
    monkeypatch.setenv("COURSE_SIGNUP_UNTIL", "2026-09-15T18:00")
    with pytest.raises(TraitError, match="needs its time zone"):
        make()
    monkeypatch.setenv("COURSE_SIGNUP_UNTIL", "next monday")
    with pytest.raises(TraitError, match="ISO date-time"):
        make()


def test_auth_mode():
    assert auth_mode({}) == "accounts"
    assert auth_mode({"COURSE_AUTH": "Workshop"}) == "workshop"
    with pytest.raises(ValueError, match="accounts or workshop"):
        auth_mode({"COURSE_AUTH": "shared"})


def test_teacher_password_synced_at_every_start(make, db):
    auth = make()
    auth.check_allow_config()  # what JupyterHub calls at start
    assert login(auth, "teacher", ADMIN_PASSWORD) == "teacher"
    # Changed elsewhere (or a new COURSE_ADMIN_PASSWORD): the next start sets it again.
    auth.get_user("teacher").password = bcrypt.hashpw(b"changed on the web page", bcrypt.gensalt())
    db.commit()
    assert login(auth, "teacher", ADMIN_PASSWORD) is None
    new = make(admin_password="another teacher's password, 32 chars")
    new.check_allow_config()
    assert login(new, "teacher", "another teacher's password, 32 chars") == "teacher"
    assert login(new, "teacher", ADMIN_PASSWORD) is None


def test_signup_only_for_roster_names_without_account_before_the_deadline(make):
    auth = make(allowed_users=ROSTER | {"teacher"}, signup_until=soon())
    auth.check_allow_config()
    assert auth.signup_open() and auth.enable_signup
    # Outside the roster, or a teacher's name: refused.
    assert auth.create_user("mallory", "a fine password 1") is None
    assert auth.create_user("teacher", "a fine password 1") is None
    assert auth.create_user("Teacher", "a fine password 1") is None
    assert login(auth, "teacher", "a fine password 1") is None
    # A roster name: its account, usable at once; but only once.
    assert auth.create_user("Ada", "ada's own password") is not None
    assert login(auth, "ada", "ada's own password") == "ada"
    assert auth.create_user("ada", "another password 2") is None
    assert login(auth, "ada", "another password 2") is None
    # Weak or too long: refused.
    assert auth.create_user("grace", "password") is None
    assert auth.create_user("grace", "g" * 73) is None
    # After the deadline: closed.
    later = datetime.now(UTC) + timedelta(hours=2)
    assert not auth.signup_open(now=later)
    closed = make(allowed_users=ROSTER, signup_until=soon(-1))
    assert not closed.signup_open()
    assert closed.create_user("grace", "grace's own password") is None


def test_no_signup_without_a_roster(make):
    auth = make(signup_until=soon())  # anyone may log in: nobody may sign up
    assert not auth.signup_open()
    assert auth.create_user("mallory", "a fine password 1") is None


def test_roster_enrolment_writes_one_handout(make, tmp_path):
    auth = make(allowed_users=ROSTER | {"teacher"})
    auth.check_allow_config()
    handouts = list((tmp_path / "secrets").glob("handout-*.csv"))
    assert len(handouts) == 1
    assert stat.S_IMODE(handouts[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(handouts[0].parent.stat().st_mode) == 0o700
    rows = list(csv.DictReader(handouts[0].open()))
    assert sorted(r["name"] for r in rows) == sorted(ROSTER)  # not the teacher
    for row in rows:
        assert login(auth, row["name"], row["password"]) == row["name"]
    # The next start: nothing new, no new handout; a name added later: its own handout.
    assert make(allowed_users=ROSTER).enroll_roster() is None
    path = make(allowed_users=ROSTER | {"linus"}).enroll_roster()
    assert [r["name"] for r in csv.DictReader(path.open())] == ["linus"]
    assert len(list((tmp_path / "secrets").glob("handout-*.csv"))) == 2


def test_open_signup_waits_for_the_students(make, tmp_path):
    auth = make(allowed_users=ROSTER, signup_until=soon())
    assert auth.enroll_roster() is None  # they choose their own password
    assert not (tmp_path / "secrets").exists()
    # After the deadline, the next start gives the rest a handout.
    path = auth.enroll_roster(now=datetime.now(UTC) + timedelta(days=1))
    assert path is not None and len(list(csv.DictReader(path.open()))) == 3


def test_passwords_over_72_bytes_are_refused_not_a_crash(make):
    auth = make()
    created, _ = enroll(auth, ["ada"])
    assert login(auth, "ada", "é" * 40) is None  # 80 bytes: bcrypt 5 would raise
    assert auth.change_password("ada", "x" * 73) is None
    assert auth.change_password("ada", "x" * 72) is True
    assert login(auth, "ada", "x" * 72) == "ada"
    assert login(auth, "ada", created["ada"]) is None


def test_lockout_after_repeated_failures(make):
    auth = make(allowed_failed_logins=3, seconds_before_next_try=60)
    password = enroll(auth, ["ada"])[0]["ada"]
    for _ in range(3):
        assert login(auth, "ada", "wrong password") is None
    assert auth.is_blocked("ada")
    assert login(auth, "ada", password) is None  # even the right one, for a while
    # The teacher's reset unlocks the name.
    password = reset(auth, "ada")
    assert not auth.is_blocked("ada")
    assert login(auth, "ada", password) == "ada"


def test_enrol_and_reset(make, db):
    auth = make(allowed_users=ROSTER | {"teacher", "linus"})
    created, existing = enroll(auth, ["Ada", "grace", "ada"])
    assert sorted(created) == ["ada", "grace"] and existing == []
    again, existing = enroll(auth, ["ada", "alan"])
    assert list(again) == ["alan"] and existing == ["ada"]
    assert login(auth, "ada", created["ada"]) == "ada"  # untouched
    new = reset(auth, "ada")
    assert new != created["ada"]
    assert login(auth, "ada", new) == "ada" and login(auth, "ada", created["ada"]) is None
    for bad, code, words in [
        ("mallory", 400, "not on the roster"),
        ("teacher", 400, "is a teacher"),
        ("a b", 400, "not a valid user name"),
        ("", 400, "not a user name"),
        (3, 400, "not a user name"),
    ]:
        with pytest.raises(AccountError, match=words) as info:
            enroll(auth, ["linus", bad])
        assert info.value.code == code
    assert auth.get_user("linus") is None  # nothing made when one name is bad
    with pytest.raises(AccountError) as info:
        reset(make(allowed_users=ROSTER | {"linus"}), "linus")
    assert info.value.code == 404 and "no account" in info.value.message
    assert db.query(UserInfo).count() == 3


def test_the_launcher_says_how_to_log_in(tmp_path, monkeypatch):
    from course_hub.hub.local import Credentials, LocalLayout
    from course_hub.launcher import banner

    layout = LocalLayout(repo=tmp_path, state=tmp_path, content_dir=tmp_path, hub_port=8000)
    logins = Credentials("course-password-1", ADMIN_PASSWORD, ("teacher",), ("student",))
    monkeypatch.delenv("COURSE_AUTH", raising=False)
    monkeypatch.setenv("COURSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
    text = banner(layout, logins, 1.0)
    assert "their own account" in text and "course-hub accounts add" in text
    assert "course-password-1" not in text and ADMIN_PASSWORD not in text
    handout = tmp_path / "secrets" / "handout-20260901-090000-abcd.csv"
    handout.parent.mkdir()
    handout.write_text("name,password\n")
    assert str(handout) in banner(layout, logins, 1.0, since=handout.stat().st_mtime)
    monkeypatch.setenv("COURSE_AUTH", "workshop")
    text = banner(layout, logins, 1.0)
    assert "WORKSHOP MODE" in text and "course-password-1" in text
