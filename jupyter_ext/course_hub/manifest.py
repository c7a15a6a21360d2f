"""The course manifest (``course.yml``): its schema, loading and validation.

The manifest is the single description of the course that every part of the
platform reads: the server extension (program, notebooks to sync, cluster
presets), the gateway configuration (cluster options) and the CLI. It is
validated strictly (unknown keys are errors) so that a teacher's typo fails at
start-up with the file, the field and what is wrong, instead of surfacing as
a puzzling behaviour in class.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import CourseError

MANIFEST_NAME = "course.yml"

#: Session ids become folder names and URL segments: keep them boring.
SESSION_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$"

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m(?:in)?)?$")

Choice = Literal["A", "B", "C", "D", "E"]


class ManifestError(CourseError):
    """The manifest cannot be used; ``problems`` lists every field at fault."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        text = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            503,
            f"The course manifest {self.path} is invalid:\n{text}",
            reason="manifest-invalid",
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _relative_path(value: str, what: str) -> str:
    """Accept only a plain relative POSIX path that stays inside its folder."""
    if not value or "\\" in value or "\x00" in value:
        raise ValueError(f"{what} must be a relative path with forward slashes")
    p = PurePosixPath(value)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or value.startswith("~"):
        raise ValueError(f"{what} must stay inside the session folder (no '..' or leading '/')")
    return p.as_posix()


class Slide(_Strict):
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class Notebook(_Strict):
    path: str = Field(description="Path relative to the session folder.")
    title: str = Field(min_length=1)
    main: bool = Field(False, description="Opened first when the session is opened.")

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str) -> str:
        return _relative_path(v, "path")


class Adaptive(_Strict):
    minimum: int = Field(ge=0)
    maximum: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Adaptive:
        if self.minimum > self.maximum:
            raise ValueError("adaptive.minimum must not exceed adaptive.maximum")
        return self


class ClusterPreset(_Strict):
    """What a session's Dask Gateway cluster looks like."""

    workers: int = Field(2, ge=0, le=1000, description="Workers requested at start.")
    worker_cores: int = Field(1, ge=1, le=64)
    worker_memory: float = Field(2.0, gt=0, le=512, description="GiB per worker.")
    adaptive: Adaptive | None = None

    def options(self) -> dict[str, float | int]:
        """The gateway cluster options this preset sets."""
        return {"worker_cores": self.worker_cores, "worker_memory": self.worker_memory}


class QuizQuestion(_Strict):
    question: str = Field(min_length=1)
    choices: dict[Choice, str] = Field(min_length=2)
    answer: Choice
    explanation: str = ""

    @field_validator("choices", mode="before")
    @classmethod
    def _numbers_are_text(cls, v: object) -> object:
        # "E: 42" in YAML is a number; a choice is always shown as text.
        if isinstance(v, dict):
            return {k: str(x) if isinstance(x, int | float) else x for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> QuizQuestion:
        if self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices")
        return self


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"timezone {name!r} is not a time zone name (IANA, like Europe/Paris or UTC)"
        ) from None


def _local_time(value: str, zone: ZoneInfo, what: str) -> dt.datetime:
    """A date and time written in the assignment's zone, as an aware datetime."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f'{what} {value!r} is not a date and time like "2027-01-15 18:00"'
        ) from None
    local = when.replace(tzinfo=zone)
    if when.tzinfo is not None and when.utcoffset() != local.utcoffset():
        raise ValueError(
            f"{what} {value!r} has an offset that is not {zone.key}'s on that date "
            f"({local.strftime('%z')}): write the local time without an offset"
        )
    return local


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Assignment(_Strict):
    """What a session asks students to hand in, and until when."""

    notebooks: list[str] = Field(
        min_length=1, description="Paths as in the session's notebooks list."
    )
    deadline: str = Field(description='Local time in timezone, like "2027-01-15 18:00".')
    timezone: str = Field(description="IANA time zone name, like Europe/Paris.")
    late_until: str | None = Field(
        None, description="Late hand-ins are accepted (and marked late) until then."
    )

    @field_validator("deadline", "late_until", mode="before")
    @classmethod
    def _yaml_dates(cls, v: object) -> object:
        # YAML turns `2027-01-15 18:00:00` (unquoted, with seconds) into a datetime.
        if isinstance(v, dt.datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, dt.date):
            raise ValueError(f'give a time with the date, like "{v.isoformat()} 18:00"')
        return v

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, v: str) -> str:
        _zone(v)
        return v

    @model_validator(mode="after")
    def _check_times(self) -> Assignment:
        zone = _zone(self.timezone)
        deadline = _local_time(self.deadline, zone, "deadline")
        if self.late_until is not None:
            late = _local_time(self.late_until, zone, "late_until")
            if late <= deadline:
                raise ValueError("late_until must be after the deadline")
        return self

    @property
    def deadline_at(self) -> dt.datetime:
        """The deadline as an aware datetime in the assignment's zone."""
        return _local_time(self.deadline, ZoneInfo(self.timezone), "deadline")

    @property
    def late_until_at(self) -> dt.datetime | None:
        if self.late_until is None:
            return None
        return _local_time(self.late_until, ZoneInfo(self.timezone), "late_until")

    def lateness(self, now: dt.datetime) -> bool | None:
        """Whether a hand-in received at ``now`` is late (True), on time (False)
        or refused (None: after the deadline, or after late_until)."""
        if now <= self.deadline_at:
            return False
        late = self.late_until_at
        return True if late is not None and now <= late else None

    def model(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """The assignment as the APIs show it (AssignmentModel), at ``now`` (UTC)."""
        now = now or dt.datetime.now(dt.UTC)
        late = self.late_until_at
        return {
            "notebooks": list(self.notebooks),
            "deadline": self.deadline_at.isoformat(),
            "timezone": self.timezone,
            "deadline_utc": _utc(self.deadline_at),
            "late_until_utc": _utc(late) if late else None,
            "accepts_late": late is not None,
            "seconds_left": round((self.deadline_at - now).total_seconds(), 3),
            "open": self.lateness(now) is not None,
        }


class Session(_Strict):
    id: Annotated[str, Field(pattern=SESSION_ID_PATTERN)]
    title: str = Field(min_length=1)
    duration: str = Field(description='Like "3h", "1h30m" or "90m".')
    self_paced: bool = False
    summary: str = ""
    slides: list[Slide] = []
    folder: str | None = Field(
        None, description="Folder of the session's files in the course content (default: id)."
    )
    notebooks: list[Notebook] = []
    cluster: ClusterPreset | None = None
    quiz: list[QuizQuestion] = []
    assignment: Assignment | None = Field(
        None, description="The notebook(s) students hand in, with the deadline."
    )

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, v: str) -> str:
        m = _DURATION.match(v.strip())
        if not v.strip() or not m or not (m["h"] or m["m"]):
            raise ValueError('duration must look like "3h", "1h30m" or "90m"')
        return v.strip()

    @field_validator("folder")
    @classmethod
    def _check_folder(cls, v: str | None) -> str | None:
        return None if v is None else _relative_path(v, "folder")

    @model_validator(mode="after")
    def _check_notebooks(self) -> Session:
        paths = [nb.path for nb in self.notebooks]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"notebook paths listed twice: {', '.join(dupes)}")
        if sum(nb.main for nb in self.notebooks) > 1:
            raise ValueError("at most one notebook may be marked main: true")
        if self.assignment is not None:
            unknown = [p for p in self.assignment.notebooks if p not in paths]
            if unknown:
                listed = ", ".join(paths) or "none"
                raise ValueError(
                    f"assignment.notebooks: {', '.join(unknown)} is not one of the session's "
                    f"notebooks ({listed})"
                )
            dupes = sorted(
                {p for p in self.assignment.notebooks if self.assignment.notebooks.count(p) > 1}
            )
            if dupes:
                raise ValueError(f"assignment.notebooks: listed twice: {', '.join(dupes)}")
        return self

    @property
    def source_folder(self) -> str:
        return self.folder or self.id

    @property
    def duration_minutes(self) -> int:
        m = _DURATION.match(self.duration)
        assert m is not None  # checked by the validator
        return int(m["h"] or 0) * 60 + int(m["m"] or 0)

    @property
    def main_notebook(self) -> Notebook | None:
        """The notebook to open first: the one marked main, else the first."""
        for nb in self.notebooks:
            if nb.main:
                return nb
        return self.notebooks[0] if self.notebooks else None


class CourseInfo(_Strict):
    id: Annotated[str, Field(pattern=SESSION_ID_PATTERN)]
    title: str = Field(min_length=1)
    summary: str = ""
    authors: list[str] = []
    url: str | None = Field(None, pattern=r"^https?://\S+$")


class Manifest(_Strict):
    course: CourseInfo
    sessions: list[Session] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Manifest:
        ids = [s.id for s in self.sessions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"session ids listed twice: {', '.join(dupes)}")
        return self

    def session(self, session_id: str) -> Session:
        for s in self.sessions:
            if s.id == session_id:
                return s
        raise CourseError(404, f"There is no session {session_id!r} in this course.", "unknown")


def past_deadlines(manifest: Manifest, now: dt.datetime | None = None) -> list[str]:
    """Assignments whose deadline has passed, named by session (for ``course-hub
    validate``: a teacher publishing a new deadline; a running hub accepts them)."""
    now = now or dt.datetime.now(dt.UTC)
    found = []
    for i, s in enumerate(manifest.sessions):
        if s.assignment is not None and s.assignment.deadline_at < now:
            found.append(
                f"sessions[{i}] (id {s.id!r}).assignment.deadline: "
                f"{s.assignment.deadline} ({s.assignment.timezone}) is in the past"
            )
    return found


def _where(manifest: dict | None, loc: tuple) -> str:
    """Render a pydantic error location, naming sessions by id for readability."""
    parts: list[str] = []
    node: object = manifest
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f" (id {node['id']!r})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def parse_manifest(data: object, path: Path | str = MANIFEST_NAME) -> Manifest:
    """Validate already-parsed YAML; raise :class:`ManifestError` listing every problem."""
    if not isinstance(data, dict):
        raise ManifestError(path, ["the file must be a mapping with 'course' and 'sessions'"])
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{_where(data, err['loc'])}: {msg}")
        raise ManifestError(path, problems) from None


def load_manifest(path: Path | str, content_root: Path | str | None = None) -> Manifest:
    """Read, parse and validate a manifest file.

    When ``content_root`` is given, also check that every listed notebook
    exists in its session folder, so a missing file is found at start-up and
    not by the first student who opens the session.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(path, [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(path, [f"{where}not valid YAML ({problem})"]) from None
    manifest = parse_manifest(data, path)
    if content_root is not None:
        check_files(manifest, Path(content_root), path)
    return manifest


def check_files(manifest: Manifest, content_root: Path, path: Path | str) -> None:
    """Every session folder and notebook named by the manifest must exist."""
    problems = []
    root = content_root.resolve()
    for i, session in enumerate(manifest.sessions):
        label = f"sessions[{i}] (id {session.id!r})"
        folder = (root / session.source_folder).resolve()
        if not folder.is_relative_to(root):
            problems.append(f"{label}.folder: leaves the course content folder")
            continue
        if session.notebooks and not folder.is_dir():
            problems.append(f"{label}.folder: {session.source_folder!r} does not exist")
            continue
        for j, nb in enumerate(session.notebooks):
            f = folder / nb.path
            if f.is_symlink() or not f.is_file():
                problems.append(
                    f"{label}.notebooks[{j}].path: {session.source_folder}/{nb.path} "
                    "is not a file in the course content"
                )
    if problems:
        raise ManifestError(path, problems)


def session_program_model(session: Session, now: dt.datetime | None = None) -> dict[str, Any]:
    """A session as the program shows it (SessionModel's common part): no quiz
    answers, no solutions. The service adds its notebooks, a student's server
    their sync status."""
    return {
        "id": session.id,
        "title": session.title,
        "duration": session.duration,
        "duration_minutes": session.duration_minutes,
        "self_paced": session.self_paced,
        "summary": session.summary,
        "slides": [s.model_dump() for s in session.slides],
        "cluster": session.cluster.model_dump() if session.cluster else None,
        "quiz_questions": len(session.quiz),
        "assignment": session.assignment.model(now) if session.assignment else None,
    }
