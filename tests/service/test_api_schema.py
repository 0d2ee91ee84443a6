"""Schemathesis against the embedded app's own /openapi.json: requests generated from the description (valid
and invalid ones), sent with real users' tokens to a real SQLite database holding a set, enrolments, graded
submissions and a regrade. No answer may be a 500, and every answer must match what the description says:
its status is documented, its body fits the schema for that status (the one error schema for 4xx/5xx),
its content type and headers are the documented ones (a timestamp without its zone, an error body of
another shape or an undeclared status fails it). Bounded in examples: about 460 requests, 30 s."""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.builders import answers_text, auth
from tests.service.conftest import Course, Env

#: examples per operation and mode (valid, invalid): 21 operations x 2 modes x (fixed + generated ids)
EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def invalid_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's negative_data_rejection, with 413 counted as a refusal: a body over
    GRADER_MAX_BODY_BYTES is refused before it is read, whatever is wrong inside it."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


NEGATIVE_CHECKS = [*CHECKS, invalid_data_refused]

SETTINGS = hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])


def _prepare(env: Env, course: Course) -> dict[str, Any]:
    """A graded submission and a finished regrade: the ids the generated requests may name."""
    sent = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice"),
                           headers=auth(course.alice))
    assert sent.status_code == 202, sent.text
    job = env.client.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof))
    assert job.status_code == 202, job.text
    env.wait()
    return {"set_id": "tiny-net", "problem_id": "q1", "submission_id": sent.json()["id"], "job_id": job.json()["id"],
            "name": "bob"}


def _exercise(cases: st.SearchStrategy[Any], tokens: dict[str, str], checks: list[Any]) -> None:
    """Send generated cases, each with one of the tokens (or none that is valid), and check every answer."""

    @SETTINGS
    @given(case=cases, who=st.sampled_from(sorted(tokens)))
    def run(case: Any, who: str) -> None:
        case.call_and_validate(headers=auth(tokens[who]), checks=checks)

    run()


def test_the_api_answers_as_its_description_says(env: Env, course: Course) -> None:
    known = _prepare(env, course)
    schema = schemathesis.openapi.from_asgi("/openapi.json", env.client.app)
    tokens = {"instructor": course.prof, "student": course.alice, "outsider": course.carol, "nobody": "grd_nothing"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 23
    tried = 0
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        fixed = {n: known[n] for n in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if names:  # the same operation on resources that exist, so that more than 404 is reached
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            try:
                _exercise(st.one_of(strategies), tokens, CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS)
            except hypothesis.errors.Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE and not operation.query and not operation.body, operation.label
                continue  # nothing in this operation can be made invalid (GET /users/me, /health)
            except Exception as exc:
                exc.add_note(f"while testing {operation.label} ({mode.value})")
                raise
            tried += 1
    env.wait()
    assert tried >= 2 * len(operations) - 4
