"""The one exception hierarchy. `status` is the HTTP status; app.py maps it once."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from access import Leaf

ECHO_CHARS = 80


def echo(value: object) -> str:
    """A user's value as an error message quotes it: at most ECHO_CHARS characters, so a
    huge input never comes back whole."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= ECHO_CHARS else text[: ECHO_CHARS - 1] + "…"


def sentence(text: str) -> str:
    """`text` as a message shows it: starting with a capital ("there is …" -> "There is …")."""
    return text[:1].upper() + text[1:]


class HubError(Exception):
    """Internal failure: logged with a request id; users see a generic message."""

    status = 500
    public_message = "Something went wrong on our side. The error has been logged."


class UserError(HubError):
    """A failure the user can act on: its message is shown as is."""

    status = 400

    @property
    def public_message(self) -> str:  # type: ignore[override]
        return str(self)

    def details(self) -> dict[str, object]:
        """Extra JSON fields of the error response."""
        return {}


class BadRequest(UserError):
    status = 400


class Unauthorized(UserError):
    status = 401

    def __init__(self, message: str = "Please sign in to continue.") -> None:
        super().__init__(message)


class Forbidden(UserError):
    status = 403

    def __init__(self, message: str = "You do not have access to this.") -> None:
        super().__init__(message)


class MissingLeaf(Forbidden):
    """The user's roles do not grant `leaf`: the leaf travels as data, in the answer too."""

    def __init__(self, leaf: Leaf, message: str) -> None:
        super().__init__(message)
        self.leaf = leaf

    def details(self) -> dict[str, object]:
        return {"leaf": self.leaf.value}


class NotFound(UserError):
    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class TooManyRequests(UserError):
    status = 429


class FieldIssue(NamedTuple):
    """One bad field: its path in the input (e.g. "filters[0].op") and what is wrong, as a
    sentence."""

    path: str
    message: str


class InvalidInput(BadRequest):
    """Input that names its bad fields: the issues travel as data, never as text to be
    split apart again. Each domain has its own subclass."""

    def __init__(self, issues: Iterable[tuple[str, str]]) -> None:
        self.issues = [FieldIssue(path, sentence(message)) for path, message in issues]
        first = self.issues[0]
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}")

    def details(self) -> dict[str, object]:
        return {"errors": [issue._asdict() for issue in self.issues]}

    def messages_for(self, path: str) -> str:
        """The messages of the issues at `path`, joined for the control that shows them."""
        return "; ".join(issue.message for issue in self.issues if issue.path == path)

    def messages_besides(self, paths: Collection[str]) -> str:
        """The messages of the issues at none of `paths` (a form's fields, each showing its
        own), joined for one message beside the form."""
        return "; ".join(issue.message for issue in self.issues if issue.path not in paths)


class BadDefinition(InvalidInput):
    """A report definition the registry refuses; names every bad field by its JSON path."""


class BadReport(InvalidInput):
    """A saved report's own fields (its name) that cannot be stored."""


class BadSchedule(InvalidInput):
    """An email schedule that cannot be stored."""


class BadAlert(InvalidInput):
    """An alert on a measure that cannot be stored."""


class BadGoal(InvalidInput):
    """A goal that cannot be stored."""


class BadLayout(InvalidInput):
    """A dashboard layout that cannot be stored."""


class BadRetention(InvalidInput):
    """A tenant's retention setting out of bounds."""


class BadEventFilter(InvalidInput):
    """Event Explorer filters from a URL that cannot be applied."""


class BadBucket(InvalidInput):
    """A drill-down's clicked point that does not fit its report (datasets.drill)."""


class ReportTimeout(UserError):
    status = 504

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The report took longer than {seconds:g} s and was stopped. "
            "Narrow the date range or remove a breakdown, then run it again."
        )


class ServiceUnavailable(UserError):
    """A dependency is down for a moment (e.g. Redis for sign-in); retrying later works."""

    status = 503
