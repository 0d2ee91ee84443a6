"""What the API returns, as pydantic models (they make the OpenAPI description)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from grader.service.store.sets import Enrolled
from grader.service.text import find_unencodable


def _as_utc(value: datetime) -> datetime:
    """Stored timestamps are naive UTC: say so (``2024-05-01T09:30:00Z``)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A timestamp in UTC, written with its zone (RFC 3339).
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class FileErrorOut(BaseModel):
    """Where a broken file (a problem set or an answers file) is broken."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="what is wrong, without the place")
    file: str = Field(description="the file's name as the service calls it (upload, answers, SET.yaml)")
    problem: str | None = Field(description="the problem's id, when the error is inside one")
    field: str | None = Field(description="the field, dotted (forward.z)")
    line: int | None = Field(description="the 1-based line in the file")
    error: str = Field(description="the message with its place: file:line: problem q1, field forward.z: ...")


class RequestIssueOut(BaseModel):
    """One thing wrong with the request's parameters or JSON body."""

    model_config = ConfigDict(extra="forbid")

    loc: list[str | int] = Field(description="where: ['query', 'limit'], ['body', 'students', 0]")
    msg: str
    type: str = Field(description="a short code, e.g. missing, int_parsing, less_than_equal")


class EntryProblemOut(BaseModel):
    """One bad entry of a roster (its ``line``) or of a JSON list of users (its ``index``)."""

    model_config = ConfigDict(extra="forbid")

    line: int | None = Field(default=None, description="the roster's line (1 is the header)")
    index: int | None = Field(default=None, description="the entry's position in the list, from 0")
    message: str


class ErrorOut(BaseModel):
    """Every error the API answers (4xx and 5xx) has this body; only ``detail`` is always there."""

    model_config = ConfigDict(extra="forbid")

    detail: str = Field(description="what went wrong, as a sentence for a person")
    field: str | None = Field(default=None, description="the field of the request or file that is wrong")
    file: str | None = Field(default=None, description="the file that is wrong")
    line: int | None = Field(default=None, description="the line of that file")
    unknown: list[str] | None = Field(default=None, description="the user names that do not exist")
    problems: list[EntryProblemOut] | None = Field(default=None, description="a roster or list of users that "
                                                   "cannot be added: each bad entry")
    retry_after: int | None = Field(default=None, description="a 429: the seconds to wait (as Retry-After)")
    error: FileErrorOut | None = Field(default=None, description="a broken file: where")
    errors: list[RequestIssueOut] | None = Field(default=None, description="invalid parameters or body: each one")


class UserOut(BaseModel):
    name: str
    role: Literal["instructor", "student"]


class ProblemOut(BaseModel):
    id: str
    title: str
    kind: str
    max_score: float


class VersionOut(BaseModel):
    number: int
    title: str
    sha256: str
    max_score: float
    warnings: list[str]
    created_at: UtcDateTime


class SetOut(BaseModel):
    id: str = Field(description="the set's id from its file, e.g. dl-hw2")
    title: str
    version: int = Field(description="the current version")
    max_score: float
    problems: list[ProblemOut]
    owner: str | None = None
    versions: list[VersionOut] | None = Field(default=None, description="instructors only")


class UploadOut(BaseModel):
    set: SetOut
    created: bool = Field(description="a new problem set")
    changed: bool = Field(description="a new version (false: the file is the current version already)")
    warnings: list[str]
    ungraded_by_current: int = Field(description="submissions not graded against the current version: "
                                                 "POST /sets/{id}/regrades grades them")


class BodyIn(BaseModel):
    """A JSON request body: refused (422) if any string in it, known field or not, is not valid Unicode.

    JSON lets a string hold a lone surrogate (``"\\ud800"``), which no database or page can store or show.
    """

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        found = find_unencodable(data)
        if found is not None:
            raise PydanticCustomError("lone_surrogate", "{message}", {"message": found.describe("the body")})
        return data


class SetSettingsIn(BodyIn):
    """Fields left out stay as they are."""

    show_expected: bool | None = Field(default=None, description="whether students see expected values "
                                       "(and feedback that would give them away)")
    submissions_per_hour: int | None = Field(default=None, ge=0, le=100_000, description="answers files one "
                                             "student may submit to this set in any hour; 0: no limit; null: "
                                             "the service's default")


class SetSettingsOut(BaseModel):
    show_expected: bool
    submissions_per_hour: int | None = Field(description="the set's own limit; null: the service's default")
    default_submissions_per_hour: int = Field(description="the service's default (GRADER_SUBMISSIONS_PER_HOUR)")
    effective_submissions_per_hour: int = Field(description="the limit in force; 0: no limit")


class StudentsIn(BodyIn):
    students: list[str] = Field(min_length=1, max_length=10_000, description="user names of students")


class EnrolmentOut(BaseModel):
    name: str = Field(description="the user name as stored (as typed when there is no such user)")
    outcome: Enrolled
    detail: str = Field(default="", description="e.g. a did-you-mean for an unknown name")


class StudentsOut(BaseModel):
    added: int = 0
    students: list[str]
    results: list[EnrolmentOut] = Field(default_factory=list, description="per name sent, what happened "
                                        "(names that are not students are reported, the rest enrolled)")


class NewUserIn(BaseModel):
    user: str = Field(min_length=1, max_length=128, description="the user name (matched without regard to case)")
    role: Literal["instructor", "student"] = "student"
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=200, description="the person's name, for display")


class UsersIn(BodyIn):
    users: list[NewUserIn] = Field(min_length=1, max_length=10_000)
    enrol: list[str] = Field(default_factory=list, max_length=50,
                             description="ids of the caller's sets to enrol the students in")


class NewUserOut(BaseModel):
    name: str
    role: Literal["instructor", "student"]
    outcome: Literal["created", "updated", "unchanged"]
    token: str | None = Field(default=None, description="the new user's bearer token: shown only in this response")


class UsersOut(BaseModel):
    users: list[NewUserOut]
    enrolled: dict[str, int] = Field(default_factory=dict, description="per set, how many were newly enrolled")


class GradeOut(BaseModel):
    version: int = Field(description="the set version this grade was computed against")
    current: bool = Field(description="graded against the set's current version")
    score: float | None
    max_score: float
    error: str | None = Field(description="why it could not be graded (then score is null)")
    graded_at: UtcDateTime
    result: dict[str, Any] | None = Field(description="the full result: problems, parts, verdicts, feedback")


class SubmissionOut(BaseModel):
    id: int
    problem_set: str
    student: str
    submitted_at: UtcDateTime
    version: int = Field(description="the set version current when it was submitted")
    status: Literal["queued", "graded", "failed"]
    grade: GradeOut | None = None
    answers: str | None = Field(default=None, description="the answers file exactly as submitted")


class SubmissionSummary(BaseModel):
    id: int
    student: str
    submitted_at: UtcDateTime
    status: Literal["queued", "graded", "failed"]
    score: float | None
    max_score: float | None


class JobOut(BaseModel):
    id: int
    problem_set: str
    version: int
    mode: Literal["batch", "single"]
    total: int
    done: int
    failed: int
    pending: int
    finished: bool
    created_at: UtcDateTime
    finished_at: UtcDateTime | None


class RegradeIn(BodyIn):
    mode: Literal["batch", "single"] = Field(default="batch", description="batch: chunks written in bulk; "
                                             "single: one task per submission")


class GradeRowOut(BaseModel):
    student: str
    submission: int | None
    version: int | None
    scores: dict[str, float | None]
    total: float | None
    error: str | None


class GradesOut(BaseModel):
    problem_set: str
    problems: list[ProblemOut]
    rows: list[GradeRowOut]
