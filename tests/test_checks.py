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


def test_in_place_modification_of_an_input_fails_naming_the_argument():
    def in_place(x):
        x.mul_(2)
        return gram(x / 2)

    with pytest.raises(CheckFailure, match="modified its argument `x` in place"):
        check_function("gram", in_place, gram, [Case("a", (torch.randn(1, 2, 3, 3),))])


def loss(prediction, target):
    return ((prediction - target) ** 2).mean()


_G = torch.Generator().manual_seed(0)
LOSS_CASES = [Case("random", (torch.randn(2, 3, generator=_G), torch.randn(2, 3, generator=_G)))]  # grad=None: compared automatically


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, t: loss(p.detach(), t), "gradient w.r.t. `prediction` is missing"),
        (lambda p, t: loss(p, t).detach(), "detached from the computation graph"),
        (lambda p, t: torch.tensor(loss(p, t).item()), "detached from the computation graph"),
        (lambda p, t: loss(p, t.detach()) + 0 * loss(p.detach(), t), "gradient w.r.t. `target` is missing"),
        # the right value, a wrong gradient: a clamp that cuts the gradient of large errors
        (lambda p, t: ((p - t).clamp(-0.8, 0.8) ** 2).mean() + (((p - t) ** 2) - ((p - t).clamp(-0.8, 0.8) ** 2)).detach().mean(),
         "the gradient w.r.t. `prediction` differs"),
    ],
)
def test_gradients_are_compared_for_every_differentiable_input(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_function("loss", wrong, loss, LOSS_CASES)


def test_tiny_gradients_are_compared_relatively():
    """A loss whose whole gradient is about 1e-4 (like a 0.001-weighted term) is still checked."""
    small = lambda p, t: 1e-3 * loss(p, t)  # noqa: E731
    wrong = lambda p, t: 1e-3 * loss(p, t) + 1e-3 * (loss(p, t).detach() - loss(p, t)) * 0.1  # noqa: E731
    check_function("small", small, small, LOSS_CASES)
    with pytest.raises(CheckFailure, match="gradient w.r.t. `p`"):
        check_function("small", wrong, small, LOSS_CASES)


def test_a_small_error_in_a_small_weight_term_fails():
    """0.999 * rec + 0.001 * adv: label smoothing (target 0.9) in adv changes the total by ~1e-4."""
    def total(p, t, smooth=1.0):
        adv = torch.nn.functional.binary_cross_entropy_with_logits(p, torch.full_like(p, smooth))
        return 0.999 * loss(p, t) + 0.001 * adv

    cases = [Case("logits", (torch.randn(4, generator=torch.Generator().manual_seed(3)) + 1, torch.randn(4, generator=torch.Generator().manual_seed(4))), grad=False)]
    with pytest.raises(CheckFailure, match="output should be"):
        check_function("total", lambda p, t: total(p, t, 0.9), total, cases)


def test_a_correct_alternative_with_float_rounding_passes():
    check_function("loss", lambda p, t: ((t - p) ** 2).sum() / p.numel(), loss, LOSS_CASES)


def test_a_mistake_is_named_only_when_it_matches_on_every_case():
    def tv(x):
        return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).sum() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).sum()

    def tv_abs(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs().sum() + (x[..., :, 1:] - x[..., :, :-1]).abs().sum()

    def tv_cropped(x):  # coincides with tv_abs on the ramp, not on random images
        return ((x[..., 1:, :-1] - x[..., :-1, :-1]) ** 2).sum() + ((x[..., :-1, 1:] - x[..., :-1, :-1]) ** 2).sum()

    cases = [Case("ramp", (torch.tensor([[[[0.0, 1.0, 3.0], [1.0, 1.0, 3.0]]]]),)),
             Case("random", (torch.rand(1, 2, 4, 5, generator=torch.Generator().manual_seed(0)),))]
    mistakes = [Mistake("you summed absolute values", tv_abs)]
    with pytest.raises(CheckFailure) as info:
        check_function("tv", tv_cropped, tv, cases, mistakes=mistakes)
    assert "absolute" not in str(info.value) and "should be 10, got 6" in str(info.value)
    with pytest.raises(CheckFailure, match="you summed absolute values"):
        check_function("tv", tv_abs, tv, cases, mistakes=mistakes)


def test_an_error_raised_while_checking_the_students_object_is_a_message():
    def check_net(build):
        def case():
            net = build()
            net(torch.randn(1, 6, 8, 8))  # the grader calls the student's module directly

        run_cases("net", [("a 6-channel input", case)])

    def hard_coded():
        return torch.nn.Conv2d(3, 1, 3)

    with pytest.raises(CheckFailure) as info:
        check_net(hard_coded)
    assert "RuntimeError" in str(info.value) and "but got 6 channels" in str(info.value)

    def grader_bug():
        raise ValueError("internal")

    with pytest.raises(CheckFailure, match="ValueError: internal"):
        run_cases("x", [("a", grader_bug)])


def test_numbers_name_a_factor_only_when_it_is_telling():
    assert "factor" not in describe_difference(torch.tensor(6.0), torch.tensor(10.0))
    assert "off by a factor of 60" in describe_difference(torch.tensor(600.0), torch.tensor(10.0))
    assert "sign is flipped" in describe_difference(-2.0, 2.0)
    assert "factor" not in describe_difference(6.0, 10.0) and "should be 10, got 6" in describe_difference(6.0, 10.0)


def test_describe_difference_on_containers():
    assert describe_difference((1, 2.0), (1, 2.0)) is None
    assert "should have 2 items" in describe_difference((1,), (1, 2))
    assert "output[1] should be 2" in describe_difference((1, 3), (1, 2))
    assert "missing the keys ['b']" in describe_difference({"a": 1}, {"a": 1, "b": 2})
    assert describe_difference(torch.tensor(3.0), 3.0) is None
    assert "part of a graph: return value.item()" in describe_difference(torch.tensor(3.0, requires_grad=True) * 1, 3.0)


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


def test_gradients_reach_the_weights_of_a_module_argument():
    def identity_loss(net, x):
        return (net(x) - x).abs().mean()

    def under_no_grad(net, x):
        with torch.no_grad():
            y = net(x)
        return (y - x).abs().mean() + 0 * x.sum()

    torch.manual_seed(0)
    cases = [Case("a 1x1 conv", (torch.nn.Conv2d(3, 3, 1), torch.randn(2, 3, 4, 4)), constants=("x",))]
    check_function("identity_loss", identity_loss, identity_loss, cases)
    with pytest.raises(CheckFailure, match="detached from the computation graph"):
        check_function("identity_loss", under_no_grad, identity_loss, cases)
    with pytest.raises(CheckFailure, match="gradient w.r.t. `net`'s parameter `weight` is missing"):
        check_function("identity_loss", lambda n, x: (n(x).detach() - x).abs().mean() + 0 * n.bias.sum(),
                       identity_loss, cases)
