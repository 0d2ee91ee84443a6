"""Who am I; instructors add users (a list, or a roster CSV) and get the new users' tokens back once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from grader.service.errors import Invalid
from grader.service.models import Role, User
from grader.service.roster import RosterEntry, RosterError, check_entries, read_roster
from grader.service.store.sets import enrol, owned_set
from grader.service.store.users import import_roster

from ..deps import BodyText, CurrentUser, Instructor, SessionDep
from ..schemas import NewUserOut, UserOut, UsersIn, UsersOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserOut)
def read_me(user: CurrentUser) -> UserOut:
    return UserOut(name=user.name, role=user.role.value)


@router.post("", response_model=UsersOut, openapi_extra={"requestBody": {"content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/UsersIn"}},
    "text/csv": {"schema": {"type": "string", "description": "a roster: header user,role[,email,name]"}}}}})
def add_users(request: Request, body: BodyText, session: SessionDep, user: Instructor,
              enrol_in: Annotated[list[str] | None, Query(max_length=50)] = None) -> UsersOut:
    """Add users in one transaction: a JSON list, or a roster CSV (``Content-Type: text/csv``).

    New users' tokens are in the response, once. Existing users (matched without regard to case) keep
    their tokens; their e-mail and name are updated, but their role is not changed here. Any problem
    refuses the whole request and names the entry (or the roster line).
    """
    entries, sets = _entries(request.headers.get("content-type", ""), body)
    sets += list(enrol_in or [])
    problem_sets = [owned_set(session, user=user, name=name) for name in dict.fromkeys(sets)]
    report = import_roster(session, entries, allow_role_change=False)
    students = [u for u in report.users if u.role is Role.STUDENT]
    enrolled = {ps.name: enrol(session, problem_set=ps, students=students) for ps in problem_sets}
    session.commit()
    tokens = {u.id: t for u, t in report.created}
    out = [_out(u, "created", tokens[u.id]) for u, _ in report.created]
    out += [_out(u, "updated") for u in report.updated] + [_out(u, "unchanged") for u in report.unchanged]
    return UsersOut(users=out, enrolled=enrolled)


def _out(user: User, outcome: Literal["created", "updated", "unchanged"], token: str | None = None) -> NewUserOut:
    return NewUserOut(name=user.name, role=user.role.value, outcome=outcome, token=token)


def _entries(content_type: str, body: str) -> tuple[list[RosterEntry], list[str]]:
    if content_type.split(";")[0].strip().lower() == "text/csv":
        try:
            return read_roster(body, "roster.csv"), []
        except RosterError as exc:
            raise Invalid("the roster cannot be imported", field="roster",
                          problems=[{"line": p.line, "message": p.message} for p in exc.problems]) from None
    try:
        parsed = UsersIn.model_validate_json(body)
    except ValueError as exc:
        raise Invalid(f"the body is not a list of users: {str(exc).splitlines()[0]}", field="users") from None
    records = [(index, {"user": e.user, "role": e.role, "email": e.email or "", "name": e.name or ""})
               for index, e in enumerate(parsed.users)]
    try:
        entries = check_entries(records, "users")
    except RosterError as exc:
        raise Invalid("the users cannot be added", field="users",
                      problems=[{"index": p.line, "message": p.message} for p in exc.problems]) from None
    return entries, parsed.enrol

