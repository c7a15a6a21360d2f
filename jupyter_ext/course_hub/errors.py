"""The one exception type whose message is safe to show a student.

Anything raised as :class:`CourseError` reaches the browser as JSON
``{"message": ..., "reason": ...}`` with its HTTP status; every other
exception is a bug, logged with its traceback and answered with a 500.
"""

from __future__ import annotations


class CourseError(Exception):
    """An error a student or teacher can act on.

    ``status`` is the HTTP status the API answers with, ``message`` a full
    sentence that says what went wrong and what to do, and ``reason`` a short
    machine-readable tag the sidebar can branch on (``"limit"``,
    ``"gateway-unreachable"``, ...).
    """

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason

    def to_model(self) -> dict[str, str | int]:
        return {"status": self.status, "message": self.message, "reason": self.reason}

    def __repr__(self) -> str:
        return f"CourseError({self.status}, {self.message!r}, reason={self.reason!r})"
