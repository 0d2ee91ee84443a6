"""The pages in a real browser: Debian's Chromium, driven by Playwright, against a real `grader serve`.

A student signs in with the keyboard, opens a problem, sees the network drawn with their weights, types
answers and sees them previewed, submits and reads per-quantity feedback; a formula gets a live MathML
preview and the parser's message with its column. An instructor uploads a broken file and sees the error at
its line, uploads the fixed file, previews a student's key, starts a regrade and watches the bar reach
100 %, reads the class results, lets students see expected values and downloads the CSV.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.sync_api import expect

from tests.service.builders import TINY_ANSWERS, TINY_SET, TINY_SET_V2, answers_text
from tests.web.conftest import ROOT, Server, check_page, shoot

DL_HW2 = (ROOT / "problems" / "dl-hw2.yaml").read_text(encoding="utf-8")
#: tiny-net answers with the bias left out of z; p, L and dL/dw carry that slip forward correctly
BIAS_OMITTED = {"q1": {"z": 1.0, "p": 0.731059, "L": 0.036165, "dL/dw": -0.105754}, "q2": {"z": -2.0, "h": 0.0}}
PARTIAL = {"q1": {"z": 1.1, "p": 0.75}, "q2": {"z": -2.0, "h": -2.0}}
#: TINY_SET_V2 with an unknown name in the loss; the loader names this line
BROKEN = TINY_SET_V2.replace("L: 0.5*(p - y)^2", "L: 0.5*(p - yy)^2")
BROKEN_LINE = next(i for i, line in enumerate(BROKEN.splitlines(), 1) if "yy" in line)


def _new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    return context.new_page()


def _sign_in(page: Any, server: Server, token: str) -> None:
    page.goto(f"{server.url}/sets")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsets$"))
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="My problem sets")).to_be_visible()


def _answer_box(page: Any, quantity: str) -> Any:
    """The input labelled with ``quantity`` (its label reads "z1 1 pt")."""
    pattern = re.escape(quantity).replace("/", "\\/")  # Playwright's selector needs / escaped
    return page.get_by_role("textbox", name=re.compile(rf"^{pattern} \d"))


def test_a_student_answers_a_network_problem_and_a_formula(server: Server, browser: Any) -> None:
    prof, ada = server.user("prof-a", "instructor"), server.user("ada", "student")
    with server.api(prof) as api:
        assert api.post("/api/v1/sets", content=DL_HW2).status_code == 201
        assert api.post("/api/v1/sets/dl-hw2/students", json={"students": ["ada"]}).status_code == 200
    page = _new_page(browser)

    # Sign in with the keyboard alone: the token field has the focus, Enter submits.
    page.goto(f"{server.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "01-sign-in")
    page.keyboard.type("not-a-token")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("That token is not valid.")
    page.get_by_label("Access token").fill(ada)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="My problem sets")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Backpropagation by hand"))
    expect(row).to_contain_text("not submitted")
    expect(row).to_contain_text("– / 17")
    shoot(page, "02-student-sets")

    page.get_by_role("link", name="Backpropagation by hand").click()
    expect(page.get_by_role("heading", level=2, name="Problems")).to_be_visible()
    shoot(page, "03-student-set")

    # The problem: statement, the network drawn with this student's weights, the forward pass as maths.
    page.get_by_role("link", name="Forward and backward pass").click()
    drawing = page.get_by_role("img", name="The network of Forward and backward pass")
    expect(drawing).to_be_visible()
    expect(drawing.locator("text.weight", has_text="w1 = 0.5")).to_have_count(1)
    expect(drawing.locator("text", has_text="z1 → h1")).to_have_count(1)
    expect(page.locator("dl.forward math")).to_have_count(7)

    # Type answers from the keyboard, moving with Tab; each is previewed as the grader reads it.
    _answer_box(page, "z1").focus()
    for text in ("1.2", "0.3", "tanh(1.2)", "0.2913", "0.5", "0,6"):
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    expect(page.locator("#answer-2-preview math")).to_be_visible()
    expect(page.locator("#answer-2-preview")).to_contain_text("= 0.833655")
    expect(page.locator("#answer-5-preview")).to_contain_text("write a decimal point")
    expect(_answer_box(page, "p")).to_have_attribute("aria-invalid", "true")
    shoot(page, "04-problem-with-preview")
    _answer_box(page, "p").fill("0.6")
    expect(page.locator("#answer-5-preview math")).to_be_visible()
    _answer_box(page, "p").press("Enter")

    # Feedback per quantity: colour and word, no expected values until the instructor allows them.
    feedback = page.locator("#feedback table")
    expect(feedback).to_be_visible()
    expect(page).to_have_url(re.compile(r"problems/q1\?submitted=\d+#feedback$"))
    z1 = feedback.get_by_role("row", name=re.compile(r"^z1 "))
    expect(z1.locator(".verdict.v-ok")).to_have_text("✓ Correct")
    h1 = feedback.get_by_role("row", name=re.compile(r"^h1 "))
    expect(h1.locator(".verdict")).to_have_text("✓ Correct")
    z3 = feedback.get_by_role("row", name=re.compile(r"^z3 "))
    expect(z3.locator(".verdict.v-bad")).to_have_text("✗ Incorrect")
    expect(feedback.get_by_role("row", name=re.compile(r"^L ")).locator(".verdict.v-none")).to_have_text(
        "– Missing")
    expect(feedback.get_by_role("columnheader", name="Expected")).to_have_count(0)
    expect(page.get_by_text("Expected values appear here once your instructor allows it.")).to_be_visible()
    expect(page.locator("#feedback")).to_be_focused()
    expect(page.locator("ol.attempts > li")).to_have_count(1)
    expect(_answer_box(page, "h1")).to_have_value("tanh(1.2)")  # the last answers stay in the form
    shoot(page, "05-problem-feedback")

    # A formula: LaTeX and plain text previewed as MathML, an unreadable one with the parser's column.
    page.get_by_role("link", name="Next problem (q2)").click()
    formula = page.get_by_role("textbox", name=re.compile("^Your formula"))
    formula.press_sequentially("sigmoidd(x)")
    preview = page.locator("#answer-0-preview")
    expect(preview).to_contain_text('unknown function "sigmoidd" at column 1; did you mean sigmoid?')
    formula.fill("")
    formula.press_sequentially(r"\sigma(x)\left(1-\sigma(x)\right)")
    expect(preview.locator("math mi", has_text="σ")).to_have_count(2)
    expect(preview.locator("math mo", has_text="−")).to_have_count(1)
    shoot(page, "06-formula-preview")
    formula.fill("sigma(x)(1 - sigma(x))")
    expect(preview.locator("math mi", has_text="σ")).to_have_count(2)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#feedback .verdict")).to_have_text("✓ Correct")
    expect(page.locator("#feedback table math")).to_have_count(1)  # the answer shown as maths
    shoot(page, "07-formula-feedback")
    page.get_by_role("link", name="Next problem (q3)").click()
    expect(page.locator(".task math mfrac")).to_have_count(1)  # d/da3 of the loss
    expect(page.locator("dl.forward > div")).to_have_count(3)  # the names the problem defines: h3, h4, y2
    shoot(page, "08-formula-with-defined-names")

    # Both problems' answers are in the newest submission: the set page adds them up.
    page.get_by_role("link", name="Backpropagation by hand").click()
    expect(page.get_by_text("Your score: 5 of 17 points")).to_be_visible()
    expect(page.locator("table").nth(1).locator("tbody tr")).to_have_count(2)
    page.context.close()


def _submit(server: Server, token: str, student: str, answers: dict[str, Any]) -> int:
    with server.api(token) as api:
        response = api.post("/api/v1/sets/tiny-net/submissions", content=answers_text(student, answers))
        assert response.status_code == 202, response.text
        return int(response.json()["id"])


def _graded(server: Server, token: str, submission: int) -> bool:
    with server.api(token) as api:
        return bool(api.get(f"/api/v1/submissions/{submission}").json()["status"] == "graded")


def test_an_instructor_uploads_previews_regrades_and_downloads(server: Server, browser: Any,
                                                               tmp_path: Path) -> None:
    prof = server.user("prof-b", "instructor")
    students = {name: server.user(name, "student") for name in ("ben", "cai", "dee", "eve")}
    with server.api(prof) as api:
        assert api.post("/api/v1/sets", content=TINY_SET).status_code == 201
        assert api.post("/api/v1/sets/tiny-net/students", json={"students": list(students)}).status_code == 200
    submitted = [_submit(server, students["ben"], "ben", TINY_ANSWERS),
                 _submit(server, students["cai"], "cai", BIAS_OMITTED),
                 _submit(server, students["dee"], "dee", PARTIAL)]
    page = _new_page(browser)
    _sign_in(page, server, prof)
    expect(page.get_by_role("row", name=re.compile("A tiny network"))).to_contain_text("3")
    shoot(page, "10-instructor-sets")

    # A broken file: the error names its line, the line is shown and marked, nothing is stored.
    page.get_by_role("link", name="Upload a set").click()
    broken = tmp_path / "tiny-net.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    page.get_by_label("Choose a file (YAML)").set_input_files(str(broken))
    expect(page.get_by_label("The file's text")).to_have_value(BROKEN)
    expect(page.locator("#file-status")).to_have_text(re.compile(r"Loaded tiny-net\.yaml"))
    page.get_by_role("button", name="Upload").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"tiny-net.yaml, line {BROKEN_LINE}, problem q1, field forward.L:")
    expect(alert).to_contain_text("unknown name 'yy' in L (did you mean y?)")
    expect(page.locator("pre.listing .named mark")).to_have_text("      L: 0.5*(p - yy)^2")
    page.get_by_role("button", name=f"Go to line {BROKEN_LINE}").click()
    expect(page.get_by_label("The file's text")).to_be_focused()
    shoot(page, "11-upload-error")
    with server.api(prof) as api:
        assert api.get("/api/v1/sets/tiny-net").json()["version"] == 1

    # The fixed file: version 2.
    fixed = tmp_path / "fixed" / "tiny-net.yaml"
    fixed.parent.mkdir()
    fixed.write_text(TINY_SET_V2, encoding="utf-8")
    page.get_by_label("Choose a file (YAML)").set_input_files(str(fixed))
    expect(page.get_by_label("The file's text")).to_have_value(TINY_SET_V2)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("A new version of the problem set was uploaded.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2")
    shoot(page, "12-instructor-set")

    # The key and the drawn network of one student's variant.
    page.get_by_role("link", name="Answer key and networks").click()
    page.get_by_label("Whose variant").fill("cai")
    page.get_by_label("Problem").select_option("q1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name="Network of q1 with cai's values")).to_be_visible()
    key = page.get_by_role("table", name="Expected answers")
    expect(key.get_by_role("row", name=re.compile(r"^z "))).to_contain_text("1.1")
    expect(key.get_by_role("row", name=re.compile(r"^dL\/dw "))).to_contain_text("-0.0935875")
    shoot(page, "13-answer-key")

    # Regrade every submission against version 2 and watch the bar.
    for sid in submitted:
        _wait_for(lambda sid=sid: _graded(server, prof, sid))
    page.get_by_role("link", name="A tiny network").click()
    page.get_by_role("button", name="Regrade all submissions").click()
    status = page.locator("#regrade-status")
    expect(status).to_have_text("Finished: 3 graded, 0 failed, of 3 (100 %).")
    expect(page.get_by_role("progressbar", name="Submissions graded")).to_have_attribute("value", "100")
    shoot(page, "14-regrade-finished")

    # Class results: histogram, error rate per quantity, mistakes by name, follow-through.
    page.get_by_role("link", name="Class results").click()
    expect(page.get_by_role("img", name="Score histogram of tiny-net")).to_be_visible()
    rates = page.get_by_role("table", name="Verdicts per quantity")
    expect(rates.get_by_role("row", name=re.compile(r"^q1: z "))).to_contain_text("33 %")
    expect(rates.get_by_role("row", name=re.compile(r"^q1: L "))).to_contain_text("33 %")
    expect(page.locator("ol.mistakes li").first).to_contain_text("Bias omitted")
    expect(page.get_by_text(re.compile(r"^3 answers earned follow-through credit"))).to_be_visible()
    shoot(page, "15-class-results")

    # Let students see expected values; a student now finds them in the feedback.
    page.get_by_role("link", name="A tiny network").first.click()
    page.get_by_label("Show students the expected value of each answer in their feedback").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("The setting was saved.")

    # The gradebook CSV, from the set page.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download grades (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "tiny-net-grades.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny-net: q1", "tiny-net: q2",
                       "tiny-net: total"]
    by_student = {row[0]: row[5:] for row in rows[1:]}
    assert by_student == {"ben": ["4", "6", "10"], "cai": ["3", "6", "9"], "dee": ["2", "3", "5"],
                          "eve": ["", "", ""]}
    page.context.close()

    student = _new_page(browser)
    _sign_in(student, server, students["cai"])
    student.goto(f"{server.url}/sets/tiny-net/problems/q1")
    feedback = student.locator("#feedback table")
    expect(feedback.get_by_role("columnheader", name="Expected")).to_have_count(1)
    expect(feedback.get_by_role("row", name=re.compile(r"^z "))).to_contain_text("Bias omitted.")
    expect(feedback.get_by_role("row", name=re.compile(r"^p "))).to_contain_text("↪ Follow-through")
    shoot(student, "16-feedback-with-expected")
    check_page(student)
    student.context.close()


def _wait_for(condition: Any, attempts: int = 300) -> None:
    """Poll ``condition`` (bounded): grading happens in the server's own thread."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the condition did not become true")


def test_the_answers_file_a_problem_page_sends_is_complete(server: Server) -> None:
    """A problem page's submission carries the other problems' answers over (checked through the API)."""
    prof, gus = server.user("prof-c", "instructor"), server.user("gus", "student")
    text = DL_HW2.replace("id: dl-hw2", "id: dl-hw2-copy")
    with server.api(prof) as api:
        assert api.post("/api/v1/sets", content=text).status_code == 201
        assert api.post("/api/v1/sets/dl-hw2-copy/students", json={"students": ["gus"]}).status_code == 200
    with server.api(gus) as api:
        first = api.post("/api/v1/sets/dl-hw2-copy/submissions", content=yaml.safe_dump(
            {"problem_set": "dl-hw2-copy", "student": "gus", "answers": {"q4": "K(K-1)/2"}}))
        assert first.status_code == 202
        with httpx.Client(base_url=server.url, timeout=30.0) as web:
            web.post("/signin", data={"token": gus})
            page = web.get("/sets/dl-hw2-copy/problems/q2")
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            assert csrf is not None
            sent = web.post("/sets/dl-hw2-copy/problems/q2", data={"csrf": csrf.group(1), "answer-0": "sigma(x)"})
            assert sent.status_code == 303
            refused = web.post("/sets/dl-hw2-copy/problems/q2", data={"csrf": "0" * 64, "answer-0": "x"})
            assert refused.status_code == 403 and "did not come from this page" in refused.text
        newest = api.get("/api/v1/sets/dl-hw2-copy/submissions").json()
        assert len(newest) == 2
        body = api.get(f"/api/v1/submissions/{newest[0]['id']}").json()
        assert yaml.safe_load(body["answers"])["answers"] == {"q4": "K(K-1)/2", "q2": "sigma(x)"}
