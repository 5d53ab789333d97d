"""The feedback a student sees after grader.check("qN"): short, the first failing check's own message first."""

from __future__ import annotations

from lesson_checks import lesson_env, public_check

from iseg_course.grading.feedback import Feedback, first_failure


def _feedback(lesson, question, env) -> Feedback:
    return Feedback(public_check(lesson, question, env), question)


def test_an_untouched_stub_gets_one_short_message():
    env = lesson_env("00", cells=1, extra={"annotation_hours": lambda *a, **k: None})  # the stub returns None
    fb = _feedback("00", "q1", env)
    text = repr(fb)
    assert not fb.passed_all and len(text.splitlines()) <= 10, text
    assert text.splitlines()[0] == "q1: not yet -- annotation_hours returned None: replace the ... with your code"
    assert 'verbose=True' in text and "Trying:" not in text and "Traceback" not in text
    html = fb._repr_html_()
    assert "<details>" in html and "Traceback" in html.split("<details>")[1]  # the full report, collapsed
    assert "Traceback" not in html.split("<details>")[0]


def _annotation_hours(n_objects, noc, s_per_click, t_check):
    import math

    if any(not math.isfinite(v) or v < 0 for v in (n_objects, noc, s_per_click, t_check)):
        raise ValueError("expected finite, non-negative inputs")
    return float(n_objects * (noc * s_per_click + t_check) / 3600)


def test_a_correct_answer_reads_passed_and_a_missing_name_names_it():
    env = lesson_env("00", cells=1, extra={"annotation_hours": _annotation_hours})
    assert repr(_feedback("00", "q1", env)) == "q1 passed!"
    fb = _feedback("00", "q1", lesson_env("00", cells=1))  # the function was never defined
    assert "NameError" in repr(fb) and "annotation_hours" in repr(fb)


def test_first_failure_reads_doctest_reports():
    report = """Trying:
    x = f()
Expecting nothing
**********************************************************************
Line 2, in q1 0
Failed example:
    assert x == 2, 'f should return 2'
Exception raised:
    Traceback (most recent call last):
      File "<doctest q1 0[1]>", line 1, in <module>
    AssertionError: f should return 2
"""
    assert first_failure(report) == "f should return 2"
    assert first_failure("Failed example:\n    f()\nExpected:\n    2\nGot:\n    3\n") == "expected 2, got 3"
    assert first_failure("Exception raised:\n    Traceback:\n    ValueError: bad\n") == "ValueError: bad"
