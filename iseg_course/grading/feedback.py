"""Short grader feedback for students: one line per failing question instead of a doctest report.

otter-grader's ``grader.check("q1")`` prints the whole doctest transcript of every case ("Trying ...
Expecting nothing ... Traceback ..."), about a hundred lines for an untouched exercise stub, with the one
useful sentence (the assertion's message) buried inside. The lessons create their grader with
:class:`Notebook` instead, a thin subclass of ``otter.Notebook`` whose ``check`` returns :class:`Feedback`:

    q1: not yet -- annotation_hours returned None: replace the ... with your code
        (1 of 2 checks failed; grader.check("q1", verbose=True) shows the full report)

In a notebook the full report is also there, collapsed under "details". Scores, the ``.OTTER_LOG`` and
the instructor's ``otter run`` / ``iseg-course grade`` output are otter's own and do not change: grading
runs the notebook with otter's own checks.
"""

from __future__ import annotations

import html
import inspect
import re

import otter

__all__ = ["Feedback", "Notebook", "first_failure"]

_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt))(?::\s?(.*))?$")


def first_failure(report: str) -> str:
    """The first failing check of an otter (doctest) report, as one sentence.

    For an exception this is its last line (``"AssertionError: msg"`` becomes ``msg``; other exceptions keep
    their name, e.g. ``"NameError: name 'x' is not defined"``); for a wrong printed value
    ``"expected <want>, got <got>"``. Returns the report's last non-empty line if neither is found.
    Used by :class:`Feedback`.
    """
    lines = (report or "").splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Exception raised:":
            found = None  # the traceback's last "SomeError: message" line
            for follow in lines[i + 1:]:
                if follow.strip().startswith(("Trying:", "*****", "Line ")):
                    break
                m = _EXCEPTION_LINE.match(follow)
                if m:
                    found = (m.group(1), (m.group(2) or "").strip())
            if found is not None:
                name, msg = found
                return msg if name == "AssertionError" and msg else (f"{name}: {msg}" if msg else name)
        if line.strip() == "Expected:" and i + 1 < len(lines):
            want = lines[i + 1].strip()
            got = next((lines[j + 1].strip() for j in range(i + 1, len(lines) - 1) if lines[j].strip() == "Got:"), "?")
            return f"expected {want}, got {got}"
    rest = [ln.strip() for ln in lines if ln.strip()]
    return rest[-1] if rest else "failed"


class Feedback:
    """A question's check result with a short display; everything else is otter's ``TestFile``.

    Attributes are looked up on the wrapped result (``passed_all``, ``score``, ``test_case_results``, ...).
    ``str(feedback)`` is the short text; ``feedback.full`` otter's full report.
    Used by :class:`Notebook` (every lesson's ``grader.check``).
    """

    def __init__(self, result, question: str):
        self.result = result
        self.question = question

    def __getattr__(self, name):
        return getattr(self.result, name)

    @property
    def full(self) -> str:
        """otter's complete report (the doctest transcript of every case)."""
        return self.result.summary()

    def lines(self) -> list[str]:
        """The short feedback: one line when passed; else the first failing check's message and a hint."""
        results = self.result.test_case_results
        failed = [r for r in results if not r.passed]
        if not failed:
            return [f"{self.question} passed!"]
        return [f"{self.question}: not yet -- {first_failure(failed[0].message)}",
                f"    ({len(failed)} of {len(results)} checks failed; grader.check({self.question!r}, verbose=True) "
                "shows the full report)"]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        lines = self.lines()
        if len(lines) == 1:
            return f"<p><strong><code>{html.escape(self.question)}</code> passed!</strong></p>"
        head = html.escape(lines[0].split(" -- ", 1)[1])
        n = html.escape(lines[1].strip().split(";")[0].strip("("))
        return (f"<p><strong style='color:#c62828'><code>{html.escape(self.question)}</code>: not yet</strong> "
                f"&mdash; {head} <small>({n})</small></p>"
                f"<details><summary>full report</summary><pre>{html.escape(self.full)}</pre></details>")


class Notebook(otter.Notebook):
    """``otter.Notebook`` whose ``check`` gives short feedback (see the module docstring).

    ``grader.check("q1")`` returns a :class:`Feedback`; ``grader.check("q1", verbose=True)`` otter's own
    result with its full report. Outside a lesson (grading mode) it behaves exactly as otter's.
    Used in lessons 00-07 (the first code cell).
    """

    def check(self, question: str, global_env: dict | None = None, verbose: bool = False):
        if global_env is None:
            global_env = inspect.currentframe().f_back.f_globals
        result = super().check(question, global_env)
        if result is None or verbose:  # grading mode (otter returns nothing), or the full report asked for
            return result
        return Feedback(result, question)
