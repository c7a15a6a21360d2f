"""A student, as the tests see one: the package's HTTP client of a hub user
(log in through the form, token, server, course API, kernels), nothing mocked."""

from course_hub.hubclient import Deadline, HubError
from course_hub.hubclient import HubUser as Student

__all__ = ["Deadline", "HubError", "Student"]
