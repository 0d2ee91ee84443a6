"""One error schema for every 4xx and 5xx, declared in the API's description; 405 with every allowed method;
timestamps with their zone; parameters out of the databases' range refused, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from grader.service.api.schemas import ErrorOut
from tests.service.builders import answers_text, auth
from tests.service.conftest import Course, Env, make_course

#: RFC 3339 date-time, as OpenAPI's ``format: date-time`` means it: the zone is not optional
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TOO_BIG = str(2**63)  # one more than BIGINT holds
HUGE = "9" * 40


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """The response has ``status`` and a body of the one error schema."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    ErrorOut.model_validate(body)  # extra keys are refused by the model: the schema says additionalProperties false
    assert body["detail"]
    return body


def test_every_kind_of_error_has_the_one_schema(env: Env, course: Course) -> None:
    c = env.client
    prof, alice = auth(course.prof), auth(course.alice)
    assert_error(c.get("/api/v1/users/me"), 401)
    assert_error(c.get("/api/v1/users/me", headers=auth("grd_nope")), 401)
    assert_error(c.post("/api/v1/sets", content="id: x\n", headers=alice), 403)
    assert_error(c.get("/api/v1/sets/nothing", headers=prof), 404)
    assert_error(c.get("/api/v1/nothing", headers=prof), 404)  # Starlette's own 404
    assert_error(c.patch("/api/v1/sets", headers=prof), 405)
    assert_error(c.post("/api/v1/sets", content=open_set(), headers=prof), 409)
    assert_error(c.post("/api/v1/sets", content="x" * 70_000, headers=prof), 413)
    assert_error(c.post("/api/v1/sets", content=b"\xff\xfe", headers=prof), 422)
    broken = assert_error(c.put("/api/v1/sets/tiny-net", content="id: tiny-net\nproblems: 5\n", headers=prof), 422)
    assert broken["error"]["file"] == "tiny-net.yaml" and broken["error"]["line"] == 2
    roster = assert_error(c.post("/api/v1/users", content="user,role\nzed,teacher\n",
                                 headers={**prof, "Content-Type": "text/csv"}), 422)
    assert roster["field"] == "roster" and roster["problems"][0]["line"] == 2
    invalid = assert_error(c.get("/api/v1/sets/tiny-net/submissions?limit=0", headers=prof), 422)
    assert invalid["errors"][0]["loc"] == ["query", "limit"]
    assert_error(c.post("/api/v1/sets/tiny-net/students", content=b"{not json", headers={
        **prof, "Content-Type": "application/json"}), 422)
    assert_error(c.post("/api/v1/sets/tiny-net/submissions", content=answers_text("bob"), headers=alice), 403)
    assert_error(c.post("/api/v1/sets", content="1", headers={**prof, "Content-Length": "x"}), 400)


def open_set() -> str:
    from tests.service.builders import TINY_SET

    return TINY_SET


def test_the_description_declares_the_error_schema_for_every_operation(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorOut"]["required"] == ["detail"]
    assert schemas["ErrorOut"]["additionalProperties"] is False
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            assert {"413", "422", "500"} <= set(errors), (method, path)
            for code, response in errors.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut", (method, path, code)
            if path.startswith("/api/"):
                assert {"401", "403", "404"} <= set(errors), (method, path)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("patch", "/api/v1/sets", "GET, POST"),
    ("delete", "/api/v1/sets/tiny-net", "GET, PUT"),
    ("post", "/api/v1/sets/tiny-net/regrades/1", "GET"),
    ("put", "/api/v1/sets/tiny-net/students", "GET, POST"),
    ("get", "/api/v1/sets/tiny-net/students/alice", "DELETE"),
    ("post", "/health", "GET"),
])
def test_405_lists_every_method_the_path_has(env: Env, course: Course, method: str, path: str, allowed: str) -> None:
    response = env.client.request(method, path, headers=auth(course.prof))
    body = assert_error(response, 405)
    assert response.headers["allow"] == allowed
    assert allowed in body["detail"]


def _timestamps(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _timestamps(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v, key)]
    return [(key, value)] if key.endswith("_at") and value is not None else []


def test_timestamps_carry_their_zone(env: Env, course: Course) -> None:
    c = env.client
    sent = c.post("/api/v1/sets/tiny-net/submissions", content=answers_text("alice"), headers=auth(course.alice))
    env.wait()
    c.post("/api/v1/sets/tiny-net/regrades", headers=auth(course.prof))
    env.wait()
    bodies = [c.get(url, headers=auth(course.prof)).json() for url in (
        "/api/v1/sets/tiny-net", sent.headers["location"], "/api/v1/sets/tiny-net/submissions",
        "/api/v1/sets/tiny-net/regrades")]
    found = _timestamps(bodies)
    assert {k for k, _ in found} == {"created_at", "submitted_at", "graded_at", "finished_at"}
    for key, value in found:
        assert RFC3339.match(value), (key, value)
        when = datetime.fromisoformat(value)
        assert when.utcoffset() is not None and when.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    schemas = c.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["VersionOut"]["properties"]["created_at"]["format"] == "date-time"


#: a parameter and the largest value its column holds (BIGINT ids and offsets; a version number is an INTEGER)
OUT_OF_RANGE = [
    ("/api/v1/submissions/{n}", 2**63 - 1),
    ("/api/v1/sets/tiny-net/regrades/{n}", 2**63 - 1),
    ("/api/v1/sets/tiny-net/source?version={n}", 2**31 - 1),
    ("/api/v1/sets/tiny-net/submissions?offset={n}", 2**63 - 1),
]


@pytest.mark.parametrize(("template", "largest"), OUT_OF_RANGE)
def test_integers_beyond_the_databases_range_are_refused_not_failed(both_env: Env, template: str,
                                                                     largest: int) -> None:
    course = make_course(both_env)
    for number in (str(largest + 1), TOO_BIG, HUGE, "-" + TOO_BIG):
        response = both_env.client.get(template.format(n=number), headers=auth(course.prof))
        body = assert_error(response, 422)
        assert body["errors"][0]["loc"][0] in ("path", "query")
    taken = both_env.client.get(template.format(n=largest), headers=auth(course.prof))
    assert taken.status_code in (200, 404), taken.text  # the largest value is one the database compares with


def test_pages_answer_an_out_of_range_id_with_not_found(env: Env, course: Course) -> None:
    from tests.web.test_pages import _sign_in

    _sign_in(env.client, course.prof)
    page = env.client.get(f"/sets/tiny-net/regrades/{TOO_BIG}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    polled = env.client.get(f"/sets/tiny-net/regrades/{HUGE}/progress")
    assert_error(polled, 422)
    env.client.cookies.clear()
    _sign_in(env.client, course.alice)
    assert_error(env.client.get(f"/submissions/{TOO_BIG}/status"), 422)


@pytest.mark.parametrize("url", ["/api/v1/sets/%ED%A0%80", "/api/v1/sets/tiny-net/key?student=%ED%A0%80",
                                 "/api/v1/sets/tiny-net/key?student=a%FF"])
def test_an_address_that_is_not_utf8_is_refused_with_where(env: Env, course: Course, url: str) -> None:
    body = assert_error(env.client.get(url, headers=auth(course.prof)), 422)
    assert "not UTF-8" in body["detail"] and "byte" in body["detail"]


def test_an_unknown_query_parameter_is_refused_with_its_name(env: Env, course: Course) -> None:
    refused = env.client.get("/api/v1/sets/tiny-net/source?verison=1", headers=auth(course.prof))
    assert refused.status_code == 422
    body = refused.json()
    assert "unknown query parameter 'verison'" in body["detail"] and "version" in body["detail"]
    ErrorOut.model_validate(body)
    assert env.client.get("/api/v1/sets/tiny-net/source?version=1", headers=auth(course.prof)).status_code == 200
