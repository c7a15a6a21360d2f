"""The course server extension: configuration and wiring.

Every setting is a traitlet (``c.CourseHub.<name>`` in a Jupyter config
file) whose default falls back to an environment variable, so the hub's
spawner can configure all students' servers without writing files in their
homes.
"""

from __future__ import annotations

import os
from pathlib import Path

import dask
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Unicode, default

from .clusters import ClusterManager
from .content import ContentSource, FolderSource, content_source
from .dashboard import DashboardProxyHandler, dashboard_route
from .handlers import HANDLERS, STATE_KEY, CourseState
from .manifest import ManifestError
from .quiz import QuizStore
from .service_source import ServiceClient, ServiceSource
from .sync import SessionSync


class CourseHub(ExtensionApp):
    """Serves the course program, syncs session notebooks and manages Dask clusters."""

    name = "course_hub"
    load_other_extensions = True

    service_url = Unicode(
        help="""Base URL of the hub's course service as this server reaches it
        (e.g. http://127.0.0.1:8006/services/course/). When set, the program,
        the session files, quiz checks and hand-ins all come from the service,
        with this server's hub token, and content_dir, content_repo and
        solutions are not used. Default: $COURSE_SERVICE_URL (the hub sets it).""",
    ).tag(config=True)

    @default("service_url")
    def _service_url_default(self) -> str:
        return os.environ.get("COURSE_SERVICE_URL", "")

    service_token = Unicode(
        help="""Token sent to the course service. Default: $JUPYTERHUB_API_TOKEN,
        this server's own hub token (its user's identity).""",
    ).tag(config=True)

    @default("service_token")
    def _service_token_default(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    service_refresh_interval = Float(
        10.0,
        help="""Seconds the program loaded from the course service is reused
        before asking it again.""",
    ).tag(config=True)

    max_handin_mb = Float(
        help="""Largest notebook, in MiB, this server sends to the course service
        as a hand-in (the service has its own limit and says so). Default:
        $COURSE_MAX_HANDIN_MB, else 20.""",
    ).tag(config=True)

    @default("max_handin_mb")
    def _max_handin_mb_default(self) -> float:
        return float(os.environ.get("COURSE_MAX_HANDIN_MB") or 20)

    content_dir = Unicode(
        help="""Folder holding course.yml and the session folders.

        Used when neither service_url nor content_repo is set. Default:
        $COURSE_CONTENT_DIR. The package ships no course: students' servers get
        theirs from the hub's course service, never the teacher's version.""",
    ).tag(config=True)

    @default("content_dir")
    def _content_dir_default(self) -> str:
        return os.environ.get("COURSE_CONTENT_DIR", "")

    content_repo = Unicode(
        help="""Git URL of the course content. When set, it replaces content_dir:
        the repository is cloned into cache_dir and fetched again at most every
        content_refresh_interval seconds. Default: $COURSE_CONTENT_REPO.""",
    ).tag(config=True)

    @default("content_repo")
    def _content_repo_default(self) -> str:
        return os.environ.get("COURSE_CONTENT_REPO", "")

    content_branch = Unicode(
        help="Branch (or tag) of content_repo. Default: $COURSE_CONTENT_BRANCH, else main.",
    ).tag(config=True)

    @default("content_branch")
    def _content_branch_default(self) -> str:
        return os.environ.get("COURSE_CONTENT_BRANCH", "main")

    content_subdir = Unicode(
        help="""Folder of content_repo that holds course.yml. Default:
        $COURSE_CONTENT_SUBDIR, else the top of the repository if course.yml is
        there, else course/.""",
    ).tag(config=True)

    @default("content_subdir")
    def _content_subdir_default(self) -> str:
        return os.environ.get("COURSE_CONTENT_SUBDIR", "")

    content_refresh_interval = Float(
        help="""Seconds between two fetches of content_repo (0 fetches on every
        request). Default: $COURSE_CONTENT_REFRESH_INTERVAL, else 60.""",
    ).tag(config=True)

    @default("content_refresh_interval")
    def _content_refresh_interval_default(self) -> float:
        return float(os.environ.get("COURSE_CONTENT_REFRESH_INTERVAL") or 60)

    course_dir = Unicode(
        help="""Folder, relative to the server's root directory (the student's
        home), that receives one sub-folder per opened session. Default:
        $COURSE_DIR, else course.""",
    ).tag(config=True)

    @default("course_dir")
    def _course_dir_default(self) -> str:
        return os.environ.get("COURSE_DIR", "course")

    cache_dir = Unicode(
        help="""Per-student working folder: the per-session upstream repositories
        and the clone of content_repo. Default: $COURSE_CACHE_DIR, else
        ~/.cache/course-hub.""",
    ).tag(config=True)

    @default("cache_dir")
    def _cache_dir_default(self) -> str:
        return os.environ.get("COURSE_CACHE_DIR") or str(Path.home() / ".cache" / "course-hub")

    gateway_address = Unicode(
        None,
        allow_none=True,
        help="Dask Gateway address. Default: the dask config gateway.address "
        "($DASK_GATEWAY__ADDRESS), as notebooks see it.",
    ).tag(config=True)

    gateway_proxy_address = Unicode(
        None,
        allow_none=True,
        help="Gateway scheduler proxy address. Default: dask config gateway.proxy-address.",
    ).tag(config=True)

    gateway_public_address = Unicode(
        None,
        allow_none=True,
        help="Root of dashboard links as a browser opens them. Default: dask config "
        "gateway.public-address.",
    ).tag(config=True)

    dashboard_token = Bool(
        help="""Send this server's hub token with the Dask dashboard requests it
        forwards to the gateway (course_hub/dashboard.py), whose dashboard route
        checks it and never passes it on (course_hub/hub/dashboards.py: the local
        and compose hubs). Leave it off where a scheduler serves its dashboard
        itself (DaskHub's Traefik routes): the token would reach a process that
        runs its owner's code. Default: $COURSE_DASHBOARD_TOKEN, else False.""",
    ).tag(config=True)

    @default("dashboard_token")
    def _dashboard_token_default(self) -> bool:
        return os.environ.get("COURSE_DASHBOARD_TOKEN", "").lower() in ("1", "true", "yes")

    solutions = Bool(
        help="""Give this server the teacher's notebooks, solutions included,
        instead of the students' copies, when this server reads the course
        itself (content_dir or content_repo). Not used with service_url: the
        course service gives each user the version they may have. Default:
        $COURSE_SOLUTIONS.""",
    ).tag(config=True)

    @default("solutions")
    def _solutions_default(self) -> bool:
        return os.environ.get("COURSE_SOLUTIONS", "").lower() in ("1", "true", "yes")

    quiz_file = Unicode(
        ".course-hub/quiz.json",
        help="Where a student's quiz answers are kept, relative to their home.",
    ).tag(config=True)

    stop_clusters_on_exit = Bool(
        help="""Stop the student's Dask clusters when this server stops (stopped by
        them, by the idle culler or by a teacher): a cluster nobody can reach any
        more only holds machines. Default: $COURSE_STOP_CLUSTERS_ON_EXIT, else True.""",
    ).tag(config=True)

    @default("stop_clusters_on_exit")
    def _stop_clusters_default(self) -> bool:
        return os.environ.get("COURSE_STOP_CLUSTERS_ON_EXIT", "1").lower() not in (
            "0",
            "false",
            "no",
        )

    cluster_start_timeout = Float(
        120.0,
        help="Seconds a new cluster may take to start before it is stopped and reported.",
    ).tag(config=True)

    def make_source(self) -> ContentSource:
        if self.service_url:
            client = ServiceClient(self.service_url, self.service_token)
            return ServiceSource(client, refresh_interval=self.service_refresh_interval)
        return content_source(
            self.content_repo,
            self.content_branch,
            self.cache_dir,
            self.content_subdir,
            self.content_refresh_interval,
            self.content_dir,
        )

    def initialize_settings(self) -> None:
        source = self.make_source()
        if isinstance(source, FolderSource):
            # Validate at start-up so the logs name the broken field at once;
            # the API then answers 503 with the same text.
            try:
                manifest = source.manifest()
                self.log.info(
                    "Course %r: %d sessions from %s",
                    manifest.course.title,
                    len(manifest.sessions),
                    source.describe(),
                )
            except ManifestError as exc:
                self.log.error("%s", exc.message)
        root_dir = Path(self.serverapp.root_dir).expanduser()
        if isinstance(source, ServiceSource):
            self.log.info("Course content from %s", source.describe())
        # With the service, the files arrive as the version its user may have.
        solutions = self.solutions and not isinstance(source, ServiceSource)
        sync = SessionSync(
            source, root_dir, self.course_dir, Path(self.cache_dir), solutions=solutions
        )
        gateway_kwargs = {
            k: v
            for k, v in {
                "address": self.gateway_address,
                "proxy_address": self.gateway_proxy_address,
                "public_address": self.gateway_public_address,
            }.items()
            if v
        }
        clusters = ClusterManager(gateway_kwargs, start_timeout=self.cluster_start_timeout)
        quiz = QuizStore(root_dir / self.quiz_file)
        self.settings[STATE_KEY] = CourseState(
            source,
            sync,
            clusters,
            quiz,
            teacher=self.solutions,
            max_handin_bytes=int(self.max_handin_mb * 2**20),
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(HANDLERS)
        # Dashboards through this server carry its hub token (.dashboard says why).
        route = dashboard_route(
            self.gateway_public_address or dask.config.get("gateway.public-address", None)
        )
        if route and self.dashboard_token:
            self.handlers.append((route, DashboardProxyHandler))

    async def stop_extension(self) -> None:
        state = self.settings.get(STATE_KEY)
        if state is not None:
            if self.stop_clusters_on_exit:
                stopped = await state.clusters.stop_all()
                if stopped:
                    self.log.info("Stopped %d Dask cluster(s) with the server", stopped)
            await state.clusters.close()
