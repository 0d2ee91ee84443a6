"""The API's description and its errors for requests that match nothing."""

from __future__ import annotations

from tests.service.builders import add_user, auth
from tests.service.conftest import Env

ENDPOINTS = {
    ("get", "/api/v1/users/me"),
    ("post", "/api/v1/users"), ("get", "/api/v1/sets"), ("post", "/api/v1/sets"), ("get", "/api/v1/sets/{set_id}"),
    ("put", "/api/v1/sets/{set_id}"), ("get", "/api/v1/sets/{set_id}/source"), ("get", "/api/v1/sets/{set_id}/key"),
    ("get", "/api/v1/sets/{set_id}/problems/{problem_id}"), ("get", "/api/v1/sets/{set_id}/students"),
    ("get", "/api/v1/sets/{set_id}/settings"), ("patch", "/api/v1/sets/{set_id}/settings"),
    ("post", "/api/v1/sets/{set_id}/students"), ("delete", "/api/v1/sets/{set_id}/students/{name}"),
    ("post", "/api/v1/sets/{set_id}/submissions"), ("get", "/api/v1/sets/{set_id}/submissions"),
    ("get", "/api/v1/submissions/{submission_id}"), ("post", "/api/v1/sets/{set_id}/regrades"),
    ("get", "/api/v1/sets/{set_id}/regrades"), ("get", "/api/v1/sets/{set_id}/regrades/{job_id}"),
    ("get", "/api/v1/sets/{set_id}/grades"), ("get", "/api/v1/sets/{set_id}/grades.csv"), ("get", "/health"),
}


def test_openapi_describes_every_endpoint(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    found = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert found == ENDPOINTS
    upload = spec["paths"]["/api/v1/sets"]["post"]
    assert "application/yaml" in upload["requestBody"]["content"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_unknown_paths_and_methods_get_json_errors(env: Env) -> None:
    token = add_user(env.factory, "alice", "student")
    missing = env.client.get("/api/v1/nothing", headers=auth(token))
    assert missing.status_code == 404 and "/openapi.json" in missing.json()["detail"]
    wrong = env.client.patch("/api/v1/sets", headers=auth(token))
    assert wrong.status_code == 405 and "not allowed" in wrong.json()["detail"]


def test_health(env: Env) -> None:
    assert env.client.get("/health").json() == {"status": "ok", "mode": "embedded"}


def test_no_page_loads_assets_from_the_internet(env: Env) -> None:
    """FastAPI's /docs and /redoc pull their scripts from a CDN; they are off, the schema stays."""
    assert env.client.get("/docs").status_code == 404
    assert env.client.get("/redoc").status_code == 404
    assert env.client.get("/openapi.json").status_code == 200
