"""The pages over HTTP without a browser: sign-in, who may see what, forms refused with a clear reason, the
preview endpoint, static files and headers. Every refused request leaves the database as it was."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.service.models import Enrolment, SetVersion, Submission
from grader.web.preview import preview_formula, preview_number
from grader.web.session import COOKIE, safe_next
from tests.service.builders import TINY_SET, add_user, auth
from tests.service.conftest import Course, Env
from tests.web.conftest import csrf_of


def _sign_in(client: TestClient, token: str) -> str:
    """Sign in; return the form value the pages then carry."""
    response = client.post("/signin", data={"token": token, "next": "/sets"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sets"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    return csrf_of(client.get("/sets").text)


def _count(env: Env, model: type) -> int:
    with env.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_pages_ask_for_a_sign_in_and_keep_where_you_were_going(env: Env, course: Course) -> None:
    response = env.client.get("/sets/tiny-net/problems/q1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fsets%2Ftiny-net%2Fproblems%2Fq1"
    form = env.client.get(response.headers["location"])
    assert 'name="next" value="/sets/tiny-net/problems/q1"' in form.text
    assert env.client.get("/", follow_redirects=False).headers["location"] == "/signin"

    wrong = env.client.post("/signin", data={"token": "grd_nope", "next": "/sets"})
    assert wrong.status_code == 401 and "That token is not valid." in wrong.text
    assert COOKIE not in env.client.cookies
    elsewhere = env.client.post("/signin", data={"token": course.alice}, headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403 and "sent from another site" in elsewhere.text
    assert COOKIE not in env.client.cookies
    empty = env.client.post("/signin", data={"token": "  "})
    assert empty.status_code == 422 and "Type your token." in empty.text

    there = env.client.post("/signin", data={"token": course.alice, "next": "/sets/tiny-net/problems/q1"})
    assert there.status_code == 200 and "One sigmoid neuron" in there.text
    assert env.client.get("/", follow_redirects=False).headers["location"] == "/sets"


@pytest.mark.parametrize(("target", "kept"), [
    ("/sets/a", "/sets/a"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/"),
])
def test_only_paths_on_this_site_are_followed_after_signing_in(target: str, kept: str) -> None:
    assert safe_next(target) == kept


def test_signing_out_forgets_the_token(env: Env, course: Course) -> None:
    csrf = _sign_in(env.client, course.alice)
    assert env.client.post("/signout", data={"csrf": "0" * 64}).status_code == 403
    out = env.client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert COOKIE not in env.client.cookies
    assert env.client.get("/sets", follow_redirects=False).status_code == 303


def test_each_role_sees_its_own_pages_only(env: Env, course: Course) -> None:
    _sign_in(env.client, course.alice)
    assert env.client.get("/sets/tiny-net").status_code == 200
    for path in ("/upload", "/sets/tiny-net/key", "/sets/tiny-net/results", "/sets/tiny-net/grades.csv"):
        refused = env.client.get(path)
        assert refused.status_code == 403 and "Not allowed" in refused.text, path
        assert refused.headers["content-type"].startswith("text/html")
    env.client.cookies.clear()
    _sign_in(env.client, course.carol)  # a student not enrolled
    refused = env.client.get("/sets/tiny-net/problems/q1")
    assert refused.status_code == 403 and "you are not enrolled in problem set &#39;tiny-net&#39;" in refused.text
    env.client.cookies.clear()
    _sign_in(env.client, course.other_prof)
    refused = env.client.get("/sets/tiny-net/results")
    assert refused.status_code == 403 and "belongs to another instructor" in refused.text
    assert env.client.get("/sets/nothing").status_code == 404
    env.client.cookies.clear()
    _sign_in(env.client, course.prof)
    assert env.client.get("/sets/tiny-net/problems/nothing", follow_redirects=False).status_code == 303
    missing = env.client.get("/sets/tiny-net/regrades/999")
    assert missing.status_code == 404 and "no regrade 999" in missing.text
    assert env.client.get("/sets/tiny-net/regrades/abc").status_code == 404


def test_forms_without_the_pages_value_change_nothing(env: Env, course: Course) -> None:
    csrf = _sign_in(env.client, course.alice)
    before = _count(env, Submission)
    for data in ({"answer-0": "1.1"}, {"answer-0": "1.1", "csrf": "f" * 64}):
        refused = env.client.post("/sets/tiny-net/problems/q1", data=data)
        assert refused.status_code == 403 and "did not come from this page" in refused.text
    refused = env.client.post("/sets/tiny-net/problems/q1", content=b'{"answer-0": "1"}',
                              headers={"Content-Type": "application/json"})
    assert refused.status_code == 422 and "expected a form" in refused.text
    nothing = env.client.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": " "})
    assert nothing.status_code == 422 and "Type at least one answer before submitting." in nothing.text
    assert _count(env, Submission) == before
    sent = env.client.post("/sets/tiny-net/problems/q1", data={"csrf": csrf, "answer-0": "1.1", "answer-1": "3/4",
                                                               "answer-2": "1e999"}, follow_redirects=False)
    assert sent.status_code == 303
    assert re.fullmatch(r"/sets/tiny-net/problems/q1\?submitted=\d+#feedback", sent.headers["location"])
    assert _count(env, Submission) == before + 1
    env.wait()
    page = env.client.get(sent.headers["location"])
    assert "3/4" in page.text and "1e999" in page.text  # kept as typed; the grader reads it and says why not
    assert re.search(r"Unreadable</span>.*?cannot read &#39;1e999&#39; as a number", page.text, re.S)


def test_uploads_and_enrolment_refuse_bad_input_with_the_place(env: Env, course: Course) -> None:
    csrf = _sign_in(env.client, course.prof)
    versions = _count(env, SetVersion)
    broken = TINY_SET.replace("ask: [z, h]", "ask: [z, hh]")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "hh" in text)
    page = env.client.post("/upload", data={"csrf": csrf, "source": broken, "filename": "tiny<b>.yaml"})
    assert page.status_code == 422
    assert f"tinyb.yaml, line {line}</strong>, problem <code>q2</code>" in page.text
    assert f'<span class="line named"><span class="n" aria-hidden="true">{line}</span><mark>' in page.text
    assert "tiny&lt;b&gt;" not in page.text and "<b>.yaml" not in page.text
    empty = env.client.post("/upload", data={"csrf": csrf, "source": "  \n"})
    assert empty.status_code == 422 and "The file is empty" in empty.text
    env.client.cookies.clear()
    other = _sign_in(env.client, course.other_prof)
    taken = env.client.post("/upload", data={"csrf": other, "source": TINY_SET})
    assert taken.status_code == 403 and "belongs to another instructor" in taken.text
    assert _count(env, SetVersion) == versions

    env.client.cookies.clear()
    csrf = _sign_in(env.client, course.prof)
    enrolments = _count(env, Enrolment)
    teacher = env.client.post("/sets/tiny-net/students", data={"csrf": csrf, "students": "other"})
    assert teacher.status_code == 422 and "other: not a student (&#39;other&#39; is an instructor)" in teacher.text
    assert _count(env, Enrolment) == enrolments
    # each name is reported; the students among them are enrolled
    unknown = env.client.post("/sets/tiny-net/students", data={"csrf": csrf, "students": "Carol, nobody"})
    assert unknown.status_code == 422 and "Enrolled 1 student(s). Not enrolled: nobody: no such user" in unknown.text
    assert '>nobody</textarea>' in unknown.text  # the refused names stay in the field, to correct
    assert _count(env, Enrolment) == enrolments + 1
    added = env.client.post("/sets/tiny-net/students", data={"csrf": csrf, "students": "carol\nalice"},
                            follow_redirects=False)
    assert added.status_code == 303 and _count(env, Enrolment) == enrolments + 1

    bad_name = env.client.get("/sets/tiny-net/key", params={"student": "<x>"})
    assert bad_name.status_code == 422 and "is not a user name" in bad_name.text
    bad_problem = env.client.get("/sets/tiny-net/key", params={"problem": "q9"})
    assert bad_problem.status_code == 422 and "has no problem &#39;q9&#39;" in bad_problem.text


def test_the_preview_endpoint(env: Env, course: Course) -> None:
    body = {"text": "tanh(1.2)", "set": "tiny-net", "problem": "q1"}
    assert env.client.post("/preview", json=body).status_code == 401
    _sign_in(env.client, course.alice)
    shown = env.client.post("/preview", json=body).json()
    assert shown["ok"] and shown["value"] == pytest.approx(0.833655, rel=1e-6) and "<mi>tanh</mi>" in shown["mathml"]
    assert env.client.post("/preview", json={**body, "problem": "q9"}).status_code == 404
    too_long = env.client.post("/preview", json={**body, "text": "1" * 20_001})  # past a derivation's length
    assert too_long.status_code == 422 and "text" in too_long.json()["detail"]
    env.client.cookies.clear()
    _sign_in(env.client, course.carol)
    assert env.client.post("/preview", json=body).status_code == 403


@pytest.mark.parametrize(("typed", "ok", "says", "column"), [
    ("0.83", True, None, None),
    (" 1/3", True, None, None),
    ("0,5", False, "write a decimal point", 2),
    ("  2 +* 3", False, "cannot read", 6),
    ("x", False, 'unknown name "x" at column 1', 1),
    ("exp(1000)", False, "cannot be evaluated", None),
    ("", True, None, None),
])
def test_previewing_numbers(typed: str, ok: bool, says: str | None, column: int | None) -> None:
    shown = preview_number(typed)
    assert shown.ok is ok and shown.column == column
    if says:
        assert shown.error is not None and says in shown.error
    assert (shown.mathml != "") is (ok and bool(typed.strip()))


def test_previewing_formulas_uses_the_problems_names() -> None:
    from grader.problemset.loader import load_problem_set_file
    from grader.problemset.model import ExpressionProblem
    from tests.web.conftest import ROOT

    ps = load_problem_set_file(ROOT / "problems" / "dl-hw2.yaml")
    q3, q4 = ps.problem("q3"), ps.problem("q4")
    assert isinstance(q3, ExpressionProblem) and isinstance(q4, ExpressionProblem)
    assert preview_formula("K(K-1)/2", q4).ok  # K is declared: a product, not a function
    unknown = preview_formula("k(k - 1)/2", q4)
    assert not unknown.ok and unknown.column == 1 and unknown.error is not None
    shown = preview_formula(r"(h_3 - y_1) h_3 (1 - h_3)", q3)  # defined names, written with underscores
    assert shown.ok and shown.mathml.count("<msub><mi>h</mi><mn>3</mn></msub>") == 3


def test_static_files_and_headers(env: Env, course: Course) -> None:
    for name, kind in (("style.css", "text/css"), ("app.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):
        response = env.client.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert env.client.get("/static/../pages.py").status_code == 404
    assert env.client.get("/static/pages.py").status_code == 404
    page = env.client.get("/signin")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    assert re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page.text) is None  # nothing from elsewhere


def test_the_api_description_has_no_pages(env: Env) -> None:
    paths = env.client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/v1/") or p == "/health" for p in paths)


def test_a_new_student_finds_no_sets(env: Env) -> None:
    token = add_user(env.factory, "zed", "student")
    _sign_in(env.client, token)
    page = env.client.get("/sets")
    assert page.status_code == 200 and "You are not enrolled in any problem set yet." in page.text
    assert env.client.get("/api/v1/users/me", headers=auth(token)).json()["name"] == "zed"


def test_each_student_sees_the_network_with_their_own_numbers(env: Env, course: Course) -> None:
    from grader.key import variant_values
    from grader.problemset.loader import load_problem_set
    from grader.problemset.model import NetworkProblem
    from tests.web.conftest import ROOT

    text = (ROOT / "problems" / "random-weights.yaml").read_text(encoding="utf-8")
    assert env.client.post("/api/v1/sets", content=text, headers=auth(course.prof)).status_code == 201
    assert env.client.post("/api/v1/sets/random-weights/students", json={"students": ["alice", "bob"]},
                           headers=auth(course.prof)).status_code == 200
    ps = load_problem_set(text, "random-weights.yaml")
    problem = ps.problem("neuron")
    assert isinstance(problem, NetworkProblem)
    drawn = {}
    for name, token in (("alice", course.alice), ("bob", course.bob)):
        env.client.cookies.clear()
        _sign_in(env.client, token)
        page = env.client.get("/sets/random-weights/problems/neuron").text
        labels = re.findall(r'class="weight"[^>]*>([^<]+)</text>', page)
        values = variant_values(ps, problem, name)["params"]
        assert sorted(labels) == sorted(f"{w} = {values[w]:.4g}" for w in ("w1", "w2")), name
        drawn[name] = labels
    assert drawn["alice"] != drawn["bob"]
