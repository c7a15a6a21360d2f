"""The course service process: configuration (traitlets) and the web server.

Every setting is a trait (``--CourseService.<name>=`` on the command line or
``c.CourseService.<name>`` in a config file) whose default falls back to an
environment variable, so a hub's ``c.JupyterHub.services`` entry configures it
with ``environment`` alone. The hub also sets the usual service variables:
``JUPYTERHUB_SERVICE_URL`` (where to listen), ``JUPYTERHUB_SERVICE_PREFIX``,
``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN`` and the OAuth client ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Float, Integer, Unicode, default, validate
from traitlets.config import Application

from .. import __version__
from ..content import ContentSource, content_source
from ..manifest import ManifestError
from .auth import TeacherCheck
from .class_view import ClassRecord
from .content import CourseContent
from .handins import MIB
from .handlers import STATE_KEY, ServiceState, handlers
from .live import LiveQuiz
from .prepare import ClassPreparer, HubAPI
from .prepare_handlers import PREPARE_KEY
from .store import HandInStore


def _env(*names: str, default: str = "") -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """The hub's OAuth callback, with the service's own HubOAuth."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings[STATE_KEY].hub_auth

    @hub_auth.setter
    def hub_auth(self, auth: HubOAuth) -> None:
        pass


class CourseService(Application):
    """Serves the course and keeps the hand-ins, as a JupyterHub service."""

    name = "course-hub-service"
    version = __version__
    description = __doc__

    @default("log_level")
    def _log_level_default(self) -> int:
        # INFO, as the hub's own log: the start line names the database and the
        # hand-ins kept, and each hand-in is a line (an admin's record of who
        # handed in what, when). traitlets' default, WARN, showed none of it.
        return logging.INFO

    service_name = Unicode(
        help="The service's name on the hub. Default: $JUPYTERHUB_SERVICE_NAME, else course.",
    ).tag(config=True)

    @default("service_name")
    def _service_name_default(self) -> str:
        return _env("JUPYTERHUB_SERVICE_NAME", default="course")

    service_url = Unicode(
        help="""Where to listen, as a URL (host and port are used). Default:
        $JUPYTERHUB_SERVICE_URL (the hub sets it for a managed service), else
        http://127.0.0.1:10101.""",
    ).tag(config=True)

    @default("service_url")
    def _service_url_default(self) -> str:
        return _env("JUPYTERHUB_SERVICE_URL", default="http://127.0.0.1:10101")

    bind_ip = Unicode(
        help="""Address to listen on, when not service_url's host: on Kubernetes
        and compose the servers reach the hub by a name that is not an address
        of the hub's own (0.0.0.0 there). Default: $COURSE_SERVICE_BIND_IP, else
        the host of service_url.""",
    ).tag(config=True)

    @default("bind_ip")
    def _bind_ip_default(self) -> str:
        return _env("COURSE_SERVICE_BIND_IP")

    service_prefix = Unicode(
        help="""URL path every route is under, as the hub's proxy forwards it.
        Default: $JUPYTERHUB_SERVICE_PREFIX, else /services/<service_name>/.""",
    ).tag(config=True)

    @default("service_prefix")
    def _service_prefix_default(self) -> str:
        prefix = _env("JUPYTERHUB_SERVICE_PREFIX", default=f"/services/{self.service_name}/")
        return "/" + prefix.strip("/") + "/"

    @validate("service_prefix")
    def _slashes(self, proposal: dict) -> str:
        return "/" + proposal["value"].strip("/") + "/"

    state_dir = Unicode(
        help="""Folder of the service's state: the database, the hand-in files,
        the cookie secret, the clone of a git course. Default:
        $COURSE_SERVICE_STATE_DIR, else $COURSE_STATE_DIR (the local hub's state
        folder), else the current directory.""",
    ).tag(config=True)

    @default("state_dir")
    def _state_dir_default(self) -> str:
        return _env("COURSE_SERVICE_STATE_DIR", "COURSE_STATE_DIR", default=os.getcwd())

    db_url = Unicode(
        help="""SQLAlchemy URL of the hand-in database. Default:
        $COURSE_SERVICE_DB_URL, else sqlite:///<state_dir>/course-service.sqlite.
        Any SQLAlchemy URL works (postgresql://... with its driver installed).""",
    ).tag(config=True)

    @default("db_url")
    def _db_url_default(self) -> str:
        path = Path(self.state_dir).resolve() / "course-service.sqlite"
        return _env("COURSE_SERVICE_DB_URL", default=f"sqlite:///{path}")

    data_dir = Unicode(
        help="""Folder of the hand-in files (content-addressed:
        handins/<sha256[:2]>/<sha256>). Keep it with the database: one without
        the other loses hand-ins. Default: $COURSE_SERVICE_DATA_DIR, else state_dir.""",
    ).tag(config=True)

    @default("data_dir")
    def _data_dir_default(self) -> str:
        return _env("COURSE_SERVICE_DATA_DIR", default=self.state_dir)

    max_handin_bytes = Integer(
        help="""Largest hand-in accepted, in bytes; larger ones are refused (413)
        with a sentence. Default: $COURSE_MAX_HANDIN_MB megabytes, else 20 MiB.""",
    ).tag(config=True)

    @default("max_handin_bytes")
    def _max_handin_default(self) -> int:
        return int(float(_env("COURSE_MAX_HANDIN_MB", default="20")) * MIB)

    @validate("max_handin_bytes")
    def _positive(self, proposal: dict) -> int:
        if proposal["value"] < 1024:
            raise ValueError("max_handin_bytes must be at least 1024")
        return proposal["value"]

    teacher_group = Unicode(
        help="""Hub group whose members are teachers (besides hub admins): they
        get teachers' notebooks and everyone's hand-ins. Default:
        $COURSE_SERVICE_TEACHER_GROUP (or $COURSE_TEACHER_GROUP), else teachers.""",
    ).tag(config=True)

    @default("teacher_group")
    def _teacher_group_default(self) -> str:
        return _env("COURSE_SERVICE_TEACHER_GROUP", "COURSE_TEACHER_GROUP", default="teachers")

    teacher_cache_seconds = Float(
        30.0,
        help="Seconds the hub's answer to 'is this user a teacher?' is reused.",
    ).tag(config=True)

    content_dir = Unicode(
        help="""Folder holding course.yml and the session folders, used when
        content_repo is empty (the wheel ships no course: its solutions stay on
        the hub side). Default: $COURSE_CONTENT_DIR, else ./course.""",
    ).tag(config=True)

    @default("content_dir")
    def _content_dir_default(self) -> str:
        return _env("COURSE_CONTENT_DIR", default="course")

    content_repo = Unicode(
        help="""Git URL of the course content; when set it replaces content_dir
        and is fetched again at most every content_refresh_interval seconds.
        Default: $COURSE_CONTENT_REPO.""",
    ).tag(config=True)

    @default("content_repo")
    def _content_repo_default(self) -> str:
        return _env("COURSE_CONTENT_REPO")

    content_branch = Unicode(
        help="Branch (or tag) of content_repo. Default: $COURSE_CONTENT_BRANCH, else main.",
    ).tag(config=True)

    @default("content_branch")
    def _content_branch_default(self) -> str:
        return _env("COURSE_CONTENT_BRANCH", default="main")

    content_subdir = Unicode(
        help="""Folder of content_repo holding course.yml. Default:
        $COURSE_CONTENT_SUBDIR, else the top if course.yml is there, else course/.""",
    ).tag(config=True)

    @default("content_subdir")
    def _content_subdir_default(self) -> str:
        return _env("COURSE_CONTENT_SUBDIR")

    content_refresh_interval = Float(
        help="""Seconds between two fetches of content_repo. Default:
        $COURSE_CONTENT_REFRESH_INTERVAL, else 60.""",
    ).tag(config=True)

    @default("content_refresh_interval")
    def _refresh_default(self) -> float:
        return float(_env("COURSE_CONTENT_REFRESH_INTERVAL", default="60"))

    cache_dir = Unicode(
        help="""Where a git course is cloned. Default: $COURSE_SERVICE_CACHE_DIR,
        else <state_dir>/course-service-cache.""",
    ).tag(config=True)

    @default("cache_dir")
    def _cache_dir_default(self) -> str:
        return _env(
            "COURSE_SERVICE_CACHE_DIR",
            default=str(Path(self.state_dir) / "course-service-cache"),
        )

    cookie_secret_file = Unicode(
        help="""File holding the secret that signs the service's OAuth cookies
        (made once, mode 0600), so browser logins survive a restart. Default:
        <state_dir>/course-service-cookie-secret.""",
    ).tag(config=True)

    @default("cookie_secret_file")
    def _cookie_secret_default(self) -> str:
        return str(Path(self.state_dir) / "course-service-cookie-secret")

    spawn_concurrency = Integer(
        help="""Most servers 'Prepare the class' starts at a time: the hub's
        concurrent_spawn_limit (wire_course passes it). Default:
        $COURSE_SPAWN_CONCURRENCY, else 100 (JupyterHub's default).""",
    ).tag(config=True)

    @default("spawn_concurrency")
    def _spawn_concurrency_default(self) -> int:
        return max(1, int(_env("COURSE_SPAWN_CONCURRENCY", default="100")))

    prepared_grace_minutes = Float(
        help="""Minutes after the class's start (a preparation's 'until', else
        the moment it was asked for) during which the idle culler leaves prepared
        servers alone. Default: $COURSE_PREPARED_GRACE, else 30.""",
    ).tag(config=True)

    @default("prepared_grace_minutes")
    def _grace_default(self) -> float:
        return float(_env("COURSE_PREPARED_GRACE", default="30"))

    prepared_keepalive_seconds = Float(
        help="""Seconds between two refreshes of the prepared servers' activity
        on the hub; keep it well under the idle culler's timeout. Default:
        $COURSE_PREPARED_KEEPALIVE, else 60.""",
    ).tag(config=True)

    @default("prepared_keepalive_seconds")
    def _keepalive_default(self) -> float:
        return float(_env("COURSE_PREPARED_KEEPALIVE", default="60"))

    gateway_url = Unicode(
        help="""The Dask Gateway's API address (as students' servers reach it,
        http://<host>:<port>/services/dask-gateway), for the class view's
        clusters. Default: $COURSE_GATEWAY_URL, else $DASK_GATEWAY__ADDRESS; empty:
        the class view shows no clusters and says why.""",
    ).tag(config=True)

    @default("gateway_url")
    def _gateway_url_default(self) -> str:
        return _env("COURSE_GATEWAY_URL", "DASK_GATEWAY__ADDRESS")

    aliases = {
        "state-dir": "CourseService.state_dir",
        "db-url": "CourseService.db_url",
        "content-dir": "CourseService.content_dir",
        "log-level": "Application.log_level",
    }

    def make_source(self) -> ContentSource:
        return content_source(
            self.content_repo,
            self.content_branch,
            self.cache_dir,
            self.content_subdir,
            self.content_refresh_interval,
            self.content_dir,
        )

    def cookie_secret(self) -> bytes:
        path = Path(self.cookie_secret_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def _share_log(self) -> None:
        """The package's and tornado's loggers write through this app's handler."""
        for name in ("course_hub", "tornado"):
            logger = logging.getLogger(name)
            logger.handlers = list(self.log.handlers)
            logger.setLevel(self.log_level)
            logger.propagate = False

    def make_app(self) -> web.Application:
        self._share_log()
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        hub_auth = HubOAuth(
            api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""),
            base_url=self.service_prefix,
            oauth_client_id=_env("JUPYTERHUB_CLIENT_ID", default=f"service-{self.service_name}"),
            cache_max_age=60,
        )
        if not hub_auth.access_scopes:
            hub_auth.access_scopes = {f"access:services!service={self.service_name}"}
        store = HandInStore(self.db_url, self.data_dir)
        state = ServiceState(
            content=CourseContent(self.make_source()),
            store=store,
            teachers=TeacherCheck(
                hub_auth.api_url,
                hub_auth.api_token,
                self.teacher_group,
                ttl=self.teacher_cache_seconds,
            ),
            hub_auth=hub_auth,
            max_handin_bytes=self.max_handin_bytes,
            prefix=self.service_prefix,
            live=LiveQuiz(store.engine),
            record=ClassRecord(store.engine),
            gateway_url=self.gateway_url,
        )
        preparer = ClassPreparer(
            HubAPI(hub_auth.api_url, hub_auth.api_token),
            state.teachers.of,
            concurrency=self.spawn_concurrency,
            grace_minutes=self.prepared_grace_minutes,
            keepalive_seconds=self.prepared_keepalive_seconds,
            state_file=Path(self.state_dir) / "course-prepared.json",
        )
        routes = [(self.service_prefix + "oauth_callback", OAuthCallbackHandler)]
        routes += handlers(self.service_prefix)
        return web.Application(
            routes,  # type: ignore[arg-type]
            cookie_secret=self.cookie_secret(),
            log_function=self._log_request,
            **{STATE_KEY: state, PREPARE_KEY: preparer},
        )

    def _log_request(self, handler: web.RequestHandler) -> None:
        status = handler.get_status()
        log = self.log.info if status < 500 else self.log.error
        if status < 400 and handler.request.method == "GET":
            log = self.log.debug
        user = getattr(getattr(handler, "who", None), "name", "-")
        log(
            "%d %s %s (%s) %.1f ms",
            status,
            handler.request.method,
            handler.request.path,
            user,
            1000 * handler.request.request_time(),
        )

    async def serve(self) -> None:
        app = self.make_app()
        state: ServiceState = app.settings[STATE_KEY]
        url = urlparse(self.service_url)
        # Listen first: the hub gives a managed service about ten seconds to answer
        # before it gives up starting (and exits), and reading the course (a git
        # fetch, on a busy machine at 9:00) may take longer. Requests that come
        # before the content is read wait for it (ServiceHandler.content).
        # Small bodies everywhere; the hand-in handler raises its own limit (it streams).
        server = HTTPServer(app, xheaders=True, max_body_size=MIB)
        server.listen(url.port or 80, self.bind_ip or url.hostname or "127.0.0.1")
        try:
            await state.content.refresh()
            manifest = state.content.manifest()
            self.log.info(
                "Course %r: %d sessions from %s",
                manifest.course.title,
                len(manifest.sessions),
                state.content.source.describe(),
            )
        except ManifestError as exc:
            self.log.error("%s", exc.message)  # served as 503 until fixed
        except Exception as exc:
            self.log.error("The course content is not available yet: %s", exc)
        preparer: ClassPreparer = app.settings[PREPARE_KEY]
        if preparer.kept:  # prepared before a restart: still kept from the culler
            preparer.start_keeper()
        self.log.info(
            "Course service on %s (prefix %s), hand-ins in %s, database %s, %d kept",
            self.service_url,
            self.service_prefix,
            state.store.files,
            _safe_url(self.db_url),
            state.store.count(),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        self.log.info("Stopping the course service")
        server.stop()
        await server.close_all_connections()
        await preparer.close()
        if state.live is not None:
            state.live.close()
        state.store.close()

    def start(self) -> None:
        asyncio.run(self.serve())


def _safe_url(url: str) -> str:
    """A database URL without its password, for the log."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(parsed.password, "***")
    return url


def main(argv: list[str] | None = None) -> None:
    app = CourseService()
    app.initialize(argv)
    app.start()
