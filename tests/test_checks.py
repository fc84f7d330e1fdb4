"""The grader framework: diagnosis of common mistakes and what the student sees."""

import pytest
import torch

from course_lib.checks import (
    Case,
    CheckFailure,
    Mismatch,
    Mistake,
    check_function,
    describe_difference,
    run_cases,
)


def gram(x):
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


CASES = [Case("random batch", (torch.randn(2, 3, 4, 5),), grad=True)]


def check(fn, mistakes=()):
    check_function("gram", fn, gram, CASES, mistakes=mistakes, hint="divide by C*H*W")


def test_correct_function_passes_and_prints_a_report(capsys):
    check(gram)
    out = capsys.readouterr().out
    assert "\u2713 random batch" in out and "1/1 cases passed" in out and "gram is correct" in out


def test_stub_is_reported_as_not_implemented():
    def stub(x):
        raise NotImplementedError("gram: not written yet")

    with pytest.raises(CheckFailure, match="gram: not implemented yet.*Hint: divide by C\\*H\\*W"):
        check(stub)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x: gram(x) * 60, "off by a constant factor of 60"),
        (lambda x: -gram(x), "wrong sign"),
        (lambda x: gram(x)[0], "the batch dimension is missing"),
        (lambda x: gram(x.transpose(1, 2)), r"shape \(2, 4, 4\), expected \(2, 3, 3\)"),
        (lambda x: None, "did you forget a `return`"),
        (lambda x: gram(x).detach(), "detached from the computation graph"),
        (lambda x: gram(x).numpy(), "should be a torch.Tensor"),
        (lambda x: gram(x) + float("nan"), "NaN"),
        (lambda x: 1 / 0, r"your code raised ZeroDivisionError: division by zero \(line: `\(lambda x: 1 / 0"),
    ],
)
def test_plausible_mistakes_get_specific_messages(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check(wrong)


def test_named_mistakes_win_over_generic_diagnosis():
    def unnormalised(x):
        n, c, h, w = x.shape
        f = x.reshape(n, c, h * w)
        return f @ f.transpose(1, 2)

    with pytest.raises(CheckFailure, match="not normalised by C\\*H\\*W"):
        check(unnormalised, [Mistake("your Gram matrix is not normalised by C*H*W", unnormalised)])


def test_inputs_are_not_shared_between_calls():
    def in_place(x):
        x.mul_(2)
        return gram(x / 2)

    check_function("gram", in_place, gram, [Case("a", (torch.randn(1, 2, 3, 3),))])


def test_describe_difference_on_containers():
    assert describe_difference((1, 2.0), (1, 2.0)) is None
    assert "should have 2 items" in describe_difference((1,), (1, 2))
    assert "output[1] should be 2" in describe_difference((1, 3), (1, 2))
    assert "missing the keys ['b']" in describe_difference({"a": 1}, {"a": 1, "b": 2})
    assert describe_difference(torch.tensor(3.0), 3.0) is None


def test_run_cases_collects_every_failure_then_raises(capsys):
    def bad():
        raise Mismatch("wrong value")

    with pytest.raises(CheckFailure, match="First problem, in case two: wrong value"):
        run_cases("thing", [("one", lambda: None), ("two", bad), ("three", bad)])
    out = capsys.readouterr().out
    assert "1/3 cases passed" in out and out.count("\u2717") == 2


def test_check_failure_renders_without_library_frames():
    lines = CheckFailure("gram: wrong")._render_traceback_()
    assert len(lines) == 1 and "gram: wrong" in lines[0]
