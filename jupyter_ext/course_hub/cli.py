"""``course-hub``: the command line for teachers and admins.

- ``course-hub hub``: run the local hub (what ``make hub`` calls);
- ``course-hub validate``: check a course folder (manifest, notebooks, presets);
- ``course-hub secrets DIR``: generate a deployment's secrets once (compose);
- ``course-hub health-check URL``: the student journey, timed, with a verdict;
- ``course-hub accounts add|reset``: students' accounts, through the hub's API;
- ``course-hub handins list|download SESSION``: an assignment's hand-ins, from the
  course service through the hub;
- ``course-hub prepare-class``: start the class's servers before it starts (through
  the course service), kept from the idle culler until the class has begun;
- ``course-hub render-values``: the chart's values for a registry, a tag, a course;
- ``course-hub run-notebook NB``: run a teacher's notebook top to bottom;
- ``course-hub student-notebook NB OUT``: the students' copy of a notebook;
- ``course-hub taxi-data OUT``: write the evaluation's table (CSV or Parquet, up to
  the real size, in bounded memory);
- ``course-hub janitor``: the compose service that stops students' containers
  with the stack.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import CourseError
from .manifest import MANIFEST_NAME, load_manifest, past_deadlines

if TYPE_CHECKING:
    from .daskhub_logins import Login

#: --auth choices (course_hub.daskhub_logins.AUTH_MODES and the former name
#: ``shared`` of ``workshop``, without importing yaml here).
AUTH_CHOICES = ("workshop", "shared", "github", "google", "oidc", "lti13")
#: render-values without --auth: the shared password is never chosen by omission.
AUTH_REQUIRED = (
    "course-hub render-values: --auth is required (the shared course password is no longer "
    "the default): --auth github, google, oidc or lti13 gives each student their own login; "
    "--auth workshop keeps one shared course password, with which anyone can log in as any "
    "student (a one-off workshop only). docs/admin.md, 'Logins'."
)


def _validate(args: argparse.Namespace) -> int:
    from .hub.gateway import cluster_options

    root = Path(args.content_dir).resolve()
    try:
        manifest = load_manifest(root / MANIFEST_NAME, root)
        cluster_options(manifest, max_cores=args.max_cores, max_memory_gib=args.max_memory)
    except CourseError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{root / MANIFEST_NAME}: {exc}", file=sys.stderr)
        return 1
    # A teacher publishing a deadline that has passed made a mistake; a running hub
    # still accepts the manifest (a term goes on past its deadlines).
    past = past_deadlines(manifest)
    if past and not args.allow_past_deadlines:
        problems = "\n".join(f"  - {p}" for p in past)
        print(
            f"The course manifest {root / MANIFEST_NAME} is invalid:\n{problems}\n"
            "(--allow-past-deadlines accepts them, e.g. for a term that has ended)",
            file=sys.stderr,
        )
        return 1
    notebooks = sum(len(s.notebooks) for s in manifest.sessions)
    print(
        f"{root / MANIFEST_NAME}: {manifest.course.title!r} is valid: "
        f"{len(manifest.sessions)} sessions, {notebooks} notebooks"
    )
    for s in manifest.sessions:
        preset = (
            f"{s.cluster.workers} x {s.cluster.worker_cores} cores / {s.cluster.worker_memory} GiB"
            if s.cluster
            else "no cluster"
        )
        print(f"  {s.id:<22} {s.duration:>6}  {len(s.notebooks)} notebook(s)  {preset}")
        if s.assignment:
            a = s.assignment
            late = f", late until {a.late_until}" if a.late_until else ""
            names = ", ".join(a.notebooks)
            print(f"  {'':<22} hand in {names} by {a.deadline} ({a.timezone}){late}")
    return 0


#: Secrets of a containerised hub, each generated once with mode 0600.
DEPLOYMENT_SECRETS = {
    "cookie-secret": "token",
    "proxy-token": "token",
    "gateway-api-token": "token",
    "gateway-encrypt-key": "fernet",
}


def _secrets(args: argparse.Namespace) -> int:
    from .hub import secrets
    from .hub.local import LayoutError, credentials

    folder = Path(args.folder)
    makers = {"token": secrets.token, "fernet": secrets.fernet_key}
    try:
        for name, kind in DEPLOYMENT_SECRETS.items():
            secrets.ensure_secret(folder / name, makers[kind])
        logins = credentials(folder)
    except (LayoutError, ValueError, OSError) as exc:
        print(f"course-hub secrets: {exc}", file=sys.stderr)
        return 2
    if "student" in logins.created and os.environ.get("COURSE_AUTH") == "workshop":
        print(f"Generated the students' password (shown once): {logins.student_password}")
    if "admin" in logins.created:
        admins = ", ".join(logins.admin_users)
        print(f"Generated the admin password for {admins} (shown once): {logins.admin_password}")
    print(f"Secrets ready in {folder} (each file mode 0600).")
    return 0


def _teacher_token(args: argparse.Namespace, command: str) -> str | None:
    """``--token`` or JUPYTERHUB_ADMIN_TOKEN; else says how to get one (None)."""
    token = args.token or os.environ.get("JUPYTERHUB_ADMIN_TOKEN")
    if not token:
        print(
            f"course-hub {command}: give --token (or JUPYTERHUB_ADMIN_TOKEN), a teacher's "
            "token from the hub's Token page",
            file=sys.stderr,
        )
    return token


def _health_check(args: argparse.Namespace) -> int:
    from .healthcheck import run_health_check

    password = args.password or os.environ.get("COURSE_PASSWORD")
    token = args.admin_token or os.environ.get("JUPYTERHUB_ADMIN_TOKEN")
    if not password and not token:
        print(
            "course-hub health-check: give --password (or COURSE_PASSWORD) "
            "or --admin-token (or JUPYTERHUB_ADMIN_TOKEN)",
            file=sys.stderr,
        )
        return 2
    report = run_health_check(
        args.url,
        user=args.user,
        password=password,
        admin_token=token,
        session=args.session,
        timeout=args.timeout,
    )
    print(report.json() if args.json else report.text())
    return 0 if report.ok else 1


def _accounts(args: argparse.Namespace) -> int:
    import csv

    from .hub.local import roster
    from .hubclient import HubError, enroll, reset_password

    token = _teacher_token(args, "accounts")
    if not token:
        return 2
    out = sys.stdout
    try:
        if args.action == "reset":
            if not args.names:
                print("course-hub accounts reset: give the names", file=sys.stderr)
                return 2
            created = {n: reset_password(args.hub, token, n) for n in args.names}
        else:
            names = list(args.names) + sorted(roster(args.roster) or () if args.roster else ())
            if not names:
                print("course-hub accounts add: give names or --roster FILE", file=sys.stderr)
                return 2
            if args.csv and Path(args.csv).exists():
                print(
                    f"course-hub accounts: {args.csv} exists: choose another file", file=sys.stderr
                )
                return 2
            created = enroll(args.hub, token, names)
            for name in sorted(set(names) - set(created)):
                print(f"{name}: has an account already (password unchanged)", file=sys.stderr)
        if args.csv and created:
            fd = os.open(args.csv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            out = os.fdopen(fd, "w", encoding="utf-8", newline="")
        if created:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["name", "password"])
            writer.writerows(sorted(created.items()))
    except (HubError, OSError, ValueError) as exc:
        print(f"course-hub accounts: {exc}", file=sys.stderr)
        return 1
    finally:
        if out is not sys.stdout:
            out.close()
    if args.csv and created:
        print(f"{len(created)} password(s) in {args.csv} (mode 0600)", file=sys.stderr)
    return 0


def _handins(args: argparse.Namespace) -> int:
    """Teachers: an assignment's hand-ins, from the course service through the hub."""
    import hashlib
    import tempfile

    import requests

    token = _teacher_token(args, "handins")
    if not token:
        return 2
    base = args.hub.rstrip("/") + "/services/course/api/"
    http = requests.Session()
    http.headers["Authorization"] = f"token {token}"

    def get(path: str, **kw: object) -> requests.Response:
        r = http.get(base + path, timeout=args.timeout, **kw)  # type: ignore[arg-type]
        if r.status_code != 200:
            try:
                message = r.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {r.status_code} from {r.url}"
            raise OSError(message)
        return r

    session = args.session
    try:
        params = {"user": args.user} if args.user else {}
        if args.action == "list":
            model = get(f"sessions/{session}/handins", params=params).json()
            if args.json:
                print(json.dumps(model, indent=1))
                return 0
            a = model["assignment"]
            state = "open" if a["open"] else "closed"
            print(f"{session}: deadline {a['deadline']} ({a['timezone']}), hand-in {state}")
            rows = model["handins"]
            print(f"{'user':<24} {'notebook':<28} {'received (UTC)':<24} late  {'size':>10}  id")
            for h in rows:
                late = "yes" if h["late"] else "no"
                print(
                    f"{h['user']:<24} {h['notebook']:<28} {h['received']:<24} {late:<4}  "
                    f"{h['size']:>10}  {h['id']}"
                )
            users = len({h["user"] for h in rows})
            print(f"{len(rows)} hand-in(s) from {users} student(s)")
            return 0
        if args.user:  # one student's latest hand-in of each notebook
            params["latest"] = "1"
            rows = get(f"sessions/{session}/handins", params=params).json()["handins"]
            if not rows:
                print(f"{args.user} has handed in nothing for {session}", file=sys.stderr)
                return 1
            out = Path(args.output)
            for h in rows:
                data = get(f"handins/{h['id']}").content
                if hashlib.sha256(data).hexdigest() != h["sha256"]:
                    raise OSError(f"hand-in {h['id']} arrived damaged: try again")
                dest = out / h["user"] / h["notebook"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                print(f"{dest}  ({h['size']} bytes, received {h['received']})")
            return 0
        dest = Path(args.zip or f"{session}-handins.zip")
        if dest.exists():
            print(f"course-hub handins: {dest} exists: choose another --zip", file=sys.stderr)
            return 2
        r = get(f"sessions/{session}/handins.zip", stream=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".partial") as f:
            for chunk in r.iter_content(1 << 20):
                f.write(chunk)
        os.replace(f.name, dest)
        print(f"{dest}: every student's latest hand-in, and index.csv")
        return 0
    except (OSError, requests.RequestException, ValueError) as exc:
        print(f"course-hub handins: {exc}", file=sys.stderr)
        return 1


def _prepare_class(args: argparse.Namespace) -> int:
    """Teachers: start the roster's servers before the class (course_hub/prepare_class.py)."""
    import requests

    from .prepare_class import PrepareError, parse_until, run

    token = _teacher_token(args, "prepare-class")
    if not token:
        return 2
    students = [s.strip() for s in (args.students or "").split(",") if s.strip()] or None
    try:
        until = parse_until(args.until) if args.until else None
        return run(args.hub, token, students, until)
    except (PrepareError, requests.RequestException) as exc:
        print(f"course-hub prepare-class: {exc}", file=sys.stderr)
        return 1


def _login(args: argparse.Namespace) -> Login:
    from .daskhub_logins import Login, read_roster

    return Login(
        mode=args.auth,
        client_id=args.auth_client_id,
        issuer=args.auth_issuer,
        authorize_url=args.auth_authorize_url,
        token_url=args.auth_token_url,
        userinfo_url=args.auth_userinfo_url,
        jwks_url=args.auth_jwks_url,
        username_claim=args.auth_username_claim,
        groups_claim=args.auth_groups_claim,
        allowed_orgs=args.allowed_org,
        allowed_domains=args.allowed_domain,
        allowed_groups=args.allowed_group,
        admin_groups=args.admin_group,
        lti_courses=args.lti_course,
        admins=args.admin,
        roster=read_roster(args.roster) if args.roster else [],
    )


def _login_notes(args: argparse.Namespace) -> str:
    """What to register at the identity provider or in the LMS."""
    host = f"https://{args.host}" if args.host else "https://HOST"
    if args.auth == "workshop":
        return (
            "one shared course password: anyone who has it can log in as any student "
            "(a one-off workshop only; the hub warns at start)"
        )
    if args.auth in ("github", "google", "oidc"):
        return f"register the callback (redirect) URL {host}/hub/oauth_callback at the provider"
    if args.auth == "lti13":
        return (
            f"register the tool in the LMS: tool URL {host}/hub/home, initiate login URL "
            f"{host}/hub/lti13/oauth_login, redirection URI {host}/hub/lti13/oauth_callback, "
            "public keys: the LMS's own (the hub fetches them from the JWKS URL)"
        )
    return ""


def _render_values(args: argparse.Namespace) -> int:
    from .daskhub import dump, render, sizing, write_secrets
    from .daskhub_logins import canonical_mode

    if args.auth is None:
        print(AUTH_REQUIRED, file=sys.stderr)
        return 2
    args.auth = canonical_mode(args.auth)  # --auth shared is --auth workshop
    try:
        values = render(
            Path(args.values_dir),
            Path(args.course),
            registry=args.registry,
            tag=args.tag,
            overlay=args.overlay,
            host=args.host,
            contact=args.contact,
            students=args.students,
            course_repo=args.course_repo,
            course_branch=args.course_branch,
            login=_login(args),
            static_ip=args.static_ip,
        )
    except CourseError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"course-hub render-values: {exc}", file=sys.stderr)
        return 2
    header = (
        "# Generated by `course-hub render-values`: do not edit, render again.\n"
        f"# registry={args.registry} tag={args.tag} overlay={args.overlay or '-'} auth={args.auth}\n"
    )
    text = dump(values, header)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    if args.secrets:
        from .daskhub_logins import SECRET_PLACEHOLDER, SECTIONS

        client_secret = os.environ.get("COURSE_AUTH_CLIENT_SECRET") or None
        data, changed = write_secrets(Path(args.secrets), args.auth, client_secret)
        state = "written (mode 0600)" if changed else "kept"
        print(
            f"{args.secrets}: secrets {state}; pass it with -f, never commit it", file=sys.stderr
        )
        section = data["jupyterhub"]["hub"]["config"].get(SECTIONS[args.auth], {})
        if section.get("client_secret") == SECRET_PLACEHOLDER:
            print(
                f"{args.secrets}: paste the provider's client secret as "
                f"{SECTIONS[args.auth]}.client_secret (or render again with "
                "COURSE_AUTH_CLIENT_SECRET set): the hub refuses to start without it",
                file=sys.stderr,
            )
    notes = _login_notes(args)
    if notes:
        print(f"--auth {args.auth}: {notes}", file=sys.stderr)
    if args.students:
        print(sizing(args.students), file=sys.stderr)
    return 0


def _parameters(pairs: list[str]) -> dict:
    import json

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"parameters look like NAME=VALUE, not {pair!r}")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


def _run_notebook(args: argparse.Namespace) -> int:
    import time

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from .notebooks import inject_parameters

    try:
        params = _parameters(args.parameter)
        nb = inject_parameters(nbformat.read(args.notebook, as_version=4), params)
    except (OSError, ValueError) as exc:
        print(f"course-hub run-notebook: {exc}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(args.notebook).resolve().parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        print(
            f"{args.notebook}: FAILED after {time.monotonic() - t0:.1f} s\n{exc}", file=sys.stderr
        )
        return 1
    finally:
        if args.output:
            nbformat.write(nb, args.output)
    print(f"{args.notebook}: ran in {time.monotonic() - t0:.1f} s")
    return 0


def _student_notebook(args: argparse.Namespace) -> int:
    from .notebooks import student_bytes

    Path(args.output).write_bytes(student_bytes(Path(args.notebook).read_bytes()))
    print(f"wrote {args.output}")
    return 0


def _taxi_data(args: argparse.Namespace) -> int:
    from .taxi_files import plain_write, write_taxi

    if args.rows != int(args.rows):
        print(
            f"course-hub taxi-data: --rows must be a whole number, not {args.rows}",
            file=sys.stderr,
        )
        return 2
    try:
        w = write_taxi(
            args.output,
            int(args.rows),
            args.partitions,
            args.format,
            args.seed,
            progress=not args.quiet,
            chunk_rows=args.chunk_rows,
            jobs=args.jobs,
        )
        plain = plain_write(args.output, w.bytes) if args.measure_disk else None
    except (OSError, ValueError) as exc:
        print(f"course-hub taxi-data: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(w.paths)} file(s), {w.rows:,} rows, {w.bytes / 1e6:.1f} MB in {args.output}: "
        f"{w.seconds:.1f} s, {w.mb_per_s:.1f} MB/s, peak RSS {w.peak_rss_mb:.0f} MB"
    )
    if plain is not None:
        rate = w.bytes / 1e6 / plain if plain > 0 else 0.0
        print(
            f"plain write of the same {w.bytes / 1e6:.1f} MB (with fsync): {plain:.1f} s, "
            f"{rate:.1f} MB/s; the generator ran at {w.mb_per_s / rate:.0%} of it"
            if rate
            else "plain write: too fast to time"
        )
    return 0


def _hub(args: argparse.Namespace) -> int:
    from .launcher import run

    return run(Path(args.config), state_dir=args.state_dir, port=args.port)


def _janitor(args: argparse.Namespace) -> int:
    from .hub.janitor import run

    return run(args.network, timeout=args.timeout)


def _login_arguments(rv: argparse.ArgumentParser) -> None:
    lg = rv.add_argument_group(
        "logins",
        "How students and teachers log in (docs/admin.md, 'Logins'). URLs to register at the "
        "provider: https://HOST/hub/oauth_callback (OAuth); LTI 1.3: https://HOST/hub/lti13/"
        "oauth_login (login initiation), https://HOST/hub/lti13/oauth_callback (redirect).",
    )
    lg.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        help="required. github, google: OAuth apps; oidc: the university's OpenID Connect "
        "provider (Keycloak, Shibboleth OIDC); lti13: launched from Moodle or another LMS; "
        "workshop (formerly shared): one course password for every student, one for "
        "teachers: anyone with it can log in as anyone, for a one-off workshop only",
    )
    lg.add_argument("--auth-client-id", help="the client id the provider or the LMS gave")
    lg.add_argument(
        "--auth-issuer",
        help="oidc: the issuer URL (a Keycloak realm gives the endpoints); lti13: the "
        "platform ID (Moodle: its URL, which gives Moodle's endpoints)",
    )
    lg.add_argument("--auth-authorize-url", help="oidc, lti13: the authorization endpoint")
    lg.add_argument("--auth-token-url", help="oidc: the token endpoint")
    lg.add_argument("--auth-userinfo-url", help="oidc: the userinfo endpoint")
    lg.add_argument("--auth-jwks-url", help="lti13: the LMS's public keyset (JWKS) URL")
    lg.add_argument(
        "--auth-username-claim",
        help="oidc: claim naming users (default preferred_username); lti13: id_token claim "
        "(default email; custom_NAME reads an LTI custom parameter)",
    )
    lg.add_argument(
        "--auth-groups-claim", default="groups", help="oidc: userinfo claim listing groups"
    )
    for flag, metavar, text in (
        ("--allowed-org", "ORG", "github: members of ORG or ORG:TEAM may log in (repeat)"),
        ("--allowed-domain", "DOMAIN", "google: accounts of this Workspace domain (repeat)"),
        ("--allowed-group", "GROUP", "oidc: members of this provider group may log in (repeat)"),
        ("--admin-group", "GROUP", "oidc: members of this provider group are admins (repeat)"),
        (
            "--lti-course",
            "ID",
            "lti13: the LMS course launches must come from (Moodle: the id= of the course "
            "page's URL; repeat for several)",
        ),
        ("--admin", "NAME", "a teacher's user name, made admin (repeat; workshop: teacher)"),
    ):
        lg.add_argument(flag, action="append", default=[], metavar=metavar, help=text)
    lg.add_argument(
        "--roster",
        help="file of user names, one a line: only they (and admins) may log in",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-hub", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    hub = sub.add_parser("hub", help="run the local hub (no Docker) in the foreground")
    hub.add_argument(
        "--config",
        default=os.environ.get("COURSE_HUB_CONFIG", "hub_config/local/jupyterhub_config.py"),
        help="JupyterHub config file (default: %(default)s)",
    )
    hub.add_argument("--state-dir", help="state folder (default: $COURSE_STATE_DIR or .state)")
    hub.add_argument("--port", type=int, help="public port (default: $HUB_PORT or 8000)")
    hub.set_defaults(func=_hub)

    val = sub.add_parser("validate", help="check course.yml, its notebooks and presets")
    val.add_argument(
        "content_dir",
        nargs="?",
        default=os.environ.get("COURSE_CONTENT_DIR", "course"),
        help="folder holding course.yml (default: %(default)s)",
    )
    val.add_argument("--max-cores", type=int, default=4, help="gateway limit per worker")
    val.add_argument("--max-memory", type=float, default=8.0, help="gateway limit per worker, GiB")
    val.add_argument(
        "--allow-past-deadlines",
        action="store_true",
        help="accept assignments whose deadline has passed (a term that has ended)",
    )
    val.set_defaults(func=_validate)

    sec = sub.add_parser("secrets", help="generate a deployment's secrets once (0600 files)")
    sec.add_argument("folder", help="where the secrets live (a private volume)")
    sec.set_defaults(func=_secrets)

    hc = sub.add_parser("health-check", help="log in, server, session, cluster, compute, stop")
    hc.add_argument("url", help="the hub's public URL, e.g. https://hub.example.org")
    hc.add_argument("--user", help="user name to check as (default: healthcheck-<random>)")
    hc.add_argument(
        "--password", help="--user's own password, or the workshop's (default: $COURSE_PASSWORD)"
    )
    hc.add_argument("--admin-token", help="an admin API token instead of a password")
    hc.add_argument("--session", help="session to open (default: the first with a cluster)")
    hc.add_argument("--timeout", type=float, default=300, help="seconds per step")
    hc.add_argument("--json", action="store_true", help="print the report as JSON")
    hc.set_defaults(func=_health_check)

    acc = sub.add_parser("accounts", help="students' accounts: add (enrol) or reset a password")
    acc.add_argument("action", choices=["add", "reset"])
    acc.add_argument("names", nargs="*", help="user names")
    acc.add_argument("--roster", help="add: also every name of this roster file")
    acc.add_argument("--hub", default="http://127.0.0.1:8000", help="hub URL (%(default)s)")
    acc.add_argument("--token", help="a teacher's API token (default: $JUPYTERHUB_ADMIN_TOKEN)")
    acc.add_argument("--csv", help="write name,password here (new file, 0600), not to stdout")
    acc.set_defaults(func=_accounts)

    hi = sub.add_parser(
        "handins", help="an assignment's hand-ins: list them, or download them (a zip)"
    )
    hi.add_argument("action", choices=["list", "download"])
    hi.add_argument("session", help="the session id (as in course.yml)")
    hi.add_argument("--user", help="only this student (download: their latest notebooks)")
    hi.add_argument("--zip", help="download: the zip to write (default: SESSION-handins.zip)")
    hi.add_argument("--output", default=".", help="download --user: folder (%(default)s)")
    hi.add_argument("--json", action="store_true", help="list: print the service's JSON")
    hi.add_argument("--hub", default="http://127.0.0.1:8000", help="hub URL (%(default)s)")
    hi.add_argument("--token", help="a teacher's API token (default: $JUPYTERHUB_ADMIN_TOKEN)")
    hi.add_argument("--timeout", type=float, default=300, help="seconds per request")
    hi.set_defaults(func=_handins)

    pc = sub.add_parser(
        "prepare-class",
        help="start the class's servers before it starts, spared by the idle culler",
    )
    pc.add_argument("--students", help="only these, comma-separated (default: the whole roster)")
    pc.add_argument(
        "--until", help="the class's start: HH:MM today or an ISO date and time (default: now)"
    )
    pc.add_argument(
        "--hub", "--hub-url", default="http://127.0.0.1:8000", help="hub URL (%(default)s)"
    )
    pc.add_argument("--token", help="a teacher's API token (default: $JUPYTERHUB_ADMIN_TOKEN)")
    pc.set_defaults(func=_prepare_class)

    rv = sub.add_parser(
        "render-values", help="the course-hub chart's values for a registry, a tag, a course"
    )
    rv.add_argument("--registry", required=True, help="where the images are, e.g. ghcr.io/org")
    rv.add_argument("--tag", required=True, help="the image tag (make push prints it)")
    rv.add_argument("--overlay", choices=["class", "test"], help="class or test deployment")
    rv.add_argument("--host", help="public host name (turns on HTTPS with Let's Encrypt)")
    rv.add_argument(
        "--static-ip",
        help="the hub's reserved public address (proxy.service.loadBalancerIP): reinstalls "
        "keep it, and the host's DNS record with it",
    )
    rv.add_argument("--contact", help="e-mail for Let's Encrypt")
    rv.add_argument("--students", type=int, help="class size: placeholders and a node estimate")
    rv.add_argument("--course-repo", help="git URL of the course content (default: the image's)")
    rv.add_argument("--course-branch", help="branch of --course-repo (default: main)")
    rv.add_argument(
        "--values-dir",
        default="hub_config/helm",
        help="the chart's folder's parent, with the values-*.yaml overlays (%(default)s)",
    )
    rv.add_argument("--course", default="course", help="folder with course.yml (presets)")
    rv.add_argument(
        "--secrets",
        help="secrets file (mode 0600): the shared passwords, made once, or the OAuth "
        "client secret, from $COURSE_AUTH_CLIENT_SECRET (else a placeholder to replace)",
    )
    rv.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    _login_arguments(rv)
    rv.set_defaults(func=_render_values)

    run = sub.add_parser("run-notebook", help="run a notebook top to bottom (nbclient)")
    run.add_argument("notebook")
    run.add_argument("-p", "--parameter", action="append", default=[], help="NAME=VALUE")
    run.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    run.add_argument("-o", "--output", help="write the executed notebook here")
    run.set_defaults(func=_run_notebook)

    stu = sub.add_parser("student-notebook", help="write the students' copy of a notebook")
    stu.add_argument("notebook")
    stu.add_argument("output")
    stu.set_defaults(func=_student_notebook)

    taxi = sub.add_parser(
        "taxi-data",
        help="write the evaluation's taxi-fare table (any size: the real one is --rows 55e6)",
    )
    taxi.add_argument("output", help="folder for part-NNNNN files (one table per folder)")
    taxi.add_argument("--rows", type=float, default=1_000_000, help="e.g. 2e6 (%(default)s)")
    taxi.add_argument("--partitions", type=int, default=10, help="files (%(default)s)")
    taxi.add_argument("--format", choices=["csv", "parquet"], default="csv")
    taxi.add_argument("--seed", type=int, default=42, help="same seed, same bytes (%(default)s)")
    taxi.add_argument(
        "--chunk-rows",
        type=int,
        help="rows drawn at once per job: bounds the memory (default 250000: about 150 MB a job)",
    )
    taxi.add_argument("--jobs", type=int, help="processes drawing rows (default: every core)")
    taxi.add_argument(
        "--measure-disk",
        action="store_true",
        help="then time a plain write of as many bytes to the same folder, to compare",
    )
    taxi.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    taxi.set_defaults(func=_taxi_data)

    jan = sub.add_parser("janitor", help="compose: stop students' containers with the stack")
    jan.add_argument(
        "--network",
        default=os.environ.get("COURSE_NETWORK", "course-hub"),
        help="the stack's network (default: $COURSE_NETWORK or %(default)s)",
    )
    jan.add_argument("--timeout", type=int, default=30, help="seconds per container to stop")
    jan.set_defaults(func=_janitor)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
