"""'Prepare the class' REST handlers, under ``<service prefix>api/class/prepare``.

Teachers only (a student gets 403 with a sentence): POST starts a job
(:class:`.prepare.ClassPreparer`) and answers 202 with its model; GET on the
job's id answers its progress.
"""

from __future__ import annotations

from tornado import web

from ..errors import CourseError
from .handins import MIB
from .handlers import ServiceHandler, json_object
from .prepare import ClassPreparer, parse_request, utcnow

#: Where the preparer lives in the web app's settings.
PREPARE_KEY = "course_prepare"
_JOB = r"(?P<job_id>[0-9a-f]{16})"


class PrepareBase(ServiceHandler):
    login_status = 401

    @property
    def preparer(self) -> ClassPreparer:
        preparer = self.settings.get(PREPARE_KEY)
        if preparer is None:
            raise CourseError(
                503, "Preparing the class is not set up on this service.", "no-prepare"
            )
        return preparer

    def require_teacher(self) -> None:
        if not self.who.teacher:
            raise CourseError(
                403, "Only teachers may prepare the class (start everyone's servers).", "forbidden"
            )


class PrepareHandler(PrepareBase):
    """POST: start the roster's (or the listed students') servers."""

    @web.authenticated
    async def post(self) -> None:
        self.require_teacher()
        if not self.request.body.strip():  # the whole roster is asked for, never implied
            raise CourseError(400, "Send a JSON object: {} prepares the whole roster.", "invalid")
        # Up to MAX_STUDENTS names fit in 1 MiB (the server's body limit), not in
        # the 64 KB of the other requests: too many names are a 400 that says so.
        students, until = parse_request(json_object(self.request.body, limit=MIB), utcnow())
        self.reply(await self.preparer.prepare(students, until, self.who.name), status=202)


class PrepareJobHandler(PrepareBase):
    """GET: a preparation's progress."""

    @web.authenticated
    async def get(self, job_id: str) -> None:
        self.require_teacher()
        self.reply(self.preparer.job(job_id))


def prepare_handlers(api: str) -> list[tuple[str, type]]:
    """The routes under ``<prefix>api/``."""
    return [
        (api + "class/prepare", PrepareHandler),
        (api + f"class/prepare/{_JOB}", PrepareJobHandler),
    ]
