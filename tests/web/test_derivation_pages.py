"""A derivation through the student's form (SPEC 6.6): typed one step per line in the textarea, graded step by step,
shown with each step's verdict; and a name for an earlier answer (SPEC 6.5) shown as such, not as its key."""

from __future__ import annotations

import re

import yaml
from fastapi.testclient import TestClient

from grader.problemset.loader import load_problem_set
from grader.web.preview import preview_formula
from tests.service.builders import add_user, enrol, upload
from tests.service.conftest import Env
from tests.web.conftest import csrf_of

SET = """\
id: steps
title: Derivations
problems:
  - id: q1
    kind: expression
    title: The sigmoid's derivative
    variables: {x: real}
    answer: diff(sigmoid(x), x)
  - id: q2
    kind: expression
    title: Through a weight
    variables: {x: real, w: real}
    define:
      d1: {answer_of: q1}
    answer: d1*w
"""

#: seed 000's derivation: through a wrong e^{-2x} step to the right answer, typed with Windows line ends
TYPED = "d/dx sigma(x) = e^-x/(1+e^-x)^2\r\n= e^-2x/(1+e^-2x)^2\r\n\r\n= (1 - sigma(x))*sigma(x)\r\n"


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post("/signin", data={"token": token, "next": "/sets"}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_of(client.get("/sets").text)


def test_a_derivation_typed_in_the_form_round_trips(env: Env) -> None:
    prof = add_user(env.factory, "prof", "instructor")
    student = add_user(env.factory, "dana", "student")
    upload(env.client, prof, SET)
    enrol(env.client, prof, "steps", "dana")
    csrf = _sign_in(env.client, student)

    page = env.client.get("/sets/steps/problems/q1")
    assert re.search(r'<textarea id="answer-0" name="answer-0"[^>]*data-preview', page.text)
    assert "one step per line" in page.text

    sent = env.client.post("/sets/steps/problems/q1", data={"csrf": csrf, "answer-0": TYPED}, follow_redirects=False)
    assert sent.status_code == 303
    env.wait()
    page = env.client.get(sent.headers["location"]).text

    # the textarea keeps the steps, one per line, as the grader read them
    kept = re.search(r'<textarea id="answer-0"[^>]*>(.*?)</textarea>', page, re.S)
    assert kept is not None
    assert kept.group(1).splitlines() == ["d/dx sigma(x) = e^-x/(1+e^-x)^2", "= e^-2x/(1+e^-2x)^2",
                                          "= (1 - sigma(x))*sigma(x)"]
    # each step with its verdict, and the part correct though step 2 is not
    steps = re.search(r'<ol class="steps"[^>]*>(.*?)</ol>', page, re.S)
    assert steps is not None
    verdicts = re.findall(r'<span class="verdict v-(\w+)">', steps.group(1))
    assert len(verdicts) == 3 and verdicts[0] == verdicts[2] != verdicts[1]
    assert "reached through a wrong step" in page
    assert "The first step not equal to the correct answer is step 2: it does not follow from step 1." in page
    assert "1 of 1" in page  # the final answer is right: full marks

    # the stored answers file holds the derivation as one text, a step per line
    with env.factory() as session:
        from grader.service.models import Submission

        stored = session.query(Submission).one()
        answers = yaml.safe_load(stored.answers)["answers"]
    assert answers["q1"] == "d/dx sigma(x) = e^-x/(1+e^-x)^2\n= e^-2x/(1+e^-2x)^2\n= (1 - sigma(x))*sigma(x)"


def test_a_name_for_an_earlier_answer_is_shown_as_that(env: Env) -> None:
    prof = add_user(env.factory, "prof", "instructor")
    student = add_user(env.factory, "dana", "student")
    upload(env.client, prof, SET)
    enrol(env.client, prof, "steps", "dana")
    _sign_in(env.client, student)
    page = env.client.get("/sets/steps/problems/q2").text
    assert '<dt>d1 =</dt><dd>your answer to <a href="q1">q1</a></dd>' in page
    assert "sigmoid" not in page.split('id="answers-heading"')[0].split("Names you may use")[1]


def test_the_preview_shows_each_step() -> None:
    problem = load_problem_set(SET).problem("q1")
    shown = preview_formula("e^-x/(1+e^-x)^2\n= sigma(x)(1 - sigma(x))", problem)  # type: ignore[arg-type]
    assert shown.ok and shown.mathml.count('<span class="step">') == 2
    broken = preview_formula("e^-x/(1+e^-x)^2\n= sigma(x", problem)  # type: ignore[arg-type]
    assert not broken.ok and broken.error is not None and broken.error.startswith("step 2:")
