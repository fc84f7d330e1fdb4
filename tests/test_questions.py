"""The graded part of every lab's Question: the right answer passes, plausible wrong ones fail by name."""

from __future__ import annotations

import importlib

import pytest
import torch

from course_lib.checks import CheckFailure, check_answer, lab01, lab10
from tools.notebooks import LABS, sources


def stub():
    raise NotImplementedError("question_1: not answered yet. Return your answer to the question above.")


def _dilated_layers_needed() -> int:
    """Lab 01, derived with the reference recurrence: fewest doubling-dilation layers with r >= 65."""
    n = 1
    while lab01.reference_receptive_field([(3, 1, 2**i) for i in range(n)])[0] < 65:
        n += 1
    return n


def _gram_growth() -> float:
    """Lab 02, measured: how much sum((G - A)^2) grows when the feature maps are tiled 2x2."""
    f, a = torch.rand(1, 4, 6, 6), torch.rand(1, 4, 6, 6)
    gram = lambda x: (x.flatten(2) @ x.flatten(2).transpose(1, 2))  # noqa: E731
    small = ((gram(f) - gram(a)) ** 2).sum()
    return float(((gram(f.repeat(1, 1, 2, 2)) - gram(a.repeat(1, 1, 2, 2))) ** 2).sum() / small)


def _composite_error() -> float:
    """Lab 11: |alpha_p F + (1 - alpha_p) B - (alpha_g F + (1 - alpha_g) B)| for the lab's pixel."""
    f, b = 0.55, 0.45
    return abs((0.2 * f + 0.8 * b) - (0.9 * f + 0.1 * b))


# lab -> (a right answer, [(a plausible wrong answer, words its message must contain), ...])
QUESTIONS = {
    "01": (_dilated_layers_needed, [(5, "one short"), (32, "plain"), (65, "receptive field needed"),
                                    (7, "six already")]),
    "02": (_gram_growth, [(4, "squares"), (2, "by 4, not 2"), (1, "does depend on the size"),
                          (256, "not 4^4")]),
    "03": (lambda: 2 * (16 + 32 + 5 * 64 + 32 + 16), [(416, "a scale (gamma) and a shift"),
                                                      (1664, "two styles"), (838, "no normalisation")]),
    "04": (lambda: "b", [("A", "never sees x"), ("C", "still ties")]),
    "05": (lambda: 283, [(70, "finest"), (140, "middle"), (560, "not 8"), (210, "not 3")]),
    "06": (lambda: " a ", [("B", "current outputs"), ("C", "today's fakes"), ("D", "reconstruction")]),
    "07": (lambda: "B", [("A", "layout"), ("C", "domain A"), ("D", "random style")]),
    "08": (lambda: "A", [("B", "higher masked MSE"), ("C", "one minimiser")]),
    "09": (lambda: 8, [(32, "keeps the crop inside"), (0, "where the clamped crop starts"), (-24, "without clamping")]),
    "10": (None, [(1 / 9, "inverted"), (1, "fully valid window"), (0, "enough for the output to be valid")]),
    "11": (_composite_error, [(0.7, "alpha error"), (0.0, "close but not equal"), (0.1, "|F - B|"),
                              (0.35, "not by the alpha error times F")]),
}


def _right(nn: str):
    if nn == "10":  # measured with the reference partial convolution: one valid pixel in a 3x3 window
        valid = torch.zeros(1, 1, 3, 3)
        valid[..., 1, 1] = 1
        out, _ = lab10.reference_partial_conv(torch.ones(1, 1, 3, 3), valid, torch.ones(1, 1, 3, 3), torch.zeros(1))
        return float(out[0, 0, 1, 1])
    return QUESTIONS[nn][0]()


def test_every_lab_with_a_question_has_a_graded_part():
    for py in sources(LABS):
        text = py.read_text()
        if "Question" in text:
            nn = py.name[:2]
            assert f"lab{nn}.check_question_1(question_1)" in text, py.name
            assert nn in QUESTIONS, f"{py.name}: add its graded question to this test"


@pytest.mark.parametrize("nn", sorted(QUESTIONS))
def test_right_answer_passes_as_value_and_as_function(nn):
    check = importlib.import_module(f"course_lib.checks.lab{nn}").check_question_1
    right = _right(nn)
    check(right)
    check(lambda: right)


@pytest.mark.parametrize("nn", sorted(QUESTIONS))
def test_stub_and_missing_return_fail_clearly(nn):
    check = importlib.import_module(f"course_lib.checks.lab{nn}").check_question_1
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)
    with pytest.raises(CheckFailure, match="forget the `return`"):
        check(lambda: None)


@pytest.mark.parametrize("nn, wrong, message", [(nn, w, m) for nn, (_, ws) in sorted(QUESTIONS.items()) for w, m in ws])
def test_plausible_wrong_answers_fail_with_their_message(nn, wrong, message):
    check = importlib.import_module(f"course_lib.checks.lab{nn}").check_question_1
    with pytest.raises(CheckFailure, match="question_1 is not right yet") as info:
        check(lambda: wrong)
    assert message in str(info.value)


def test_answers_of_the_wrong_kind_are_named():
    with pytest.raises(CheckFailure, match="one of the letters 'A', 'B', 'C'"):
        check_answer("q", 2, expected="B", choices=("A", "B", "C"))
    with pytest.raises(CheckFailure, match="answer with a number"):
        lab01.check_question_1("6")
    with pytest.raises(CheckFailure, match="answer with a number"):
        lab01.check_question_1(True)
    check_answer("q", torch.tensor(6), expected=6)  # a one-element tensor is a number
    with pytest.raises(CheckFailure, match="4 is not right. The field"):
        check_answer("q", 4, expected=6, explain="The field must reach 32 pixels.")


# ----------------------------------------------------------------------------- second questions
def _outermost_decoder_channels() -> int:
    """Lab 04, measured on the library's U-Net 256: input channels of the outermost up-convolution."""
    from course_lib.translation.pix2pix import UnetGenerator

    up = UnetGenerator(3, 3, num_downs=8, ngf=64).model.up
    return next(m.in_channels for m in up.modules() if isinstance(m, torch.nn.ConvTranspose2d))


def _touching_cars_boundary() -> int:
    """Lab 05, measured with the reference boundary map: two touching cars (ids 3 | 4) in 8x8."""
    from course_lib.checks import lab05

    cars = torch.full((1, 8, 8), 3)
    cars[..., 4:] = 4
    return int(lab05.reference_boundary_map(cars).sum())


def _darkening_identity_loss() -> float:
    """Lab 06, measured with the reference identity loss: G_AB(b) = b - 0.2, G_BA = identity."""
    from course_lib.checks import lab06

    images = torch.rand(2, 3, 8, 8) * 2 - 1
    return float(lab06.reference_identity_loss(lambda b: b - 0.2, torch.nn.Identity(), images, images))


def _foreground_norm_effect() -> str:
    """Lab 10, measured: dividing one position's scores by a constant (the foreground patch's norm)
    keeps the order of the softmax's weights and changes how peaked they are (answer C)."""
    scores = torch.tensor([0.9, 0.5, -0.2, 0.3])
    before, after = torch.softmax(10 * scores, 0), torch.softmax(10 * scores / 3.0, 0)
    same_order = torch.equal(before.argsort(), after.argsort())
    return "C" if same_order and not torch.allclose(before, after) else "A" if same_order else "B"


# lab -> (a right answer, [(a plausible wrong answer, words its message must contain), ...])
QUESTIONS_2 = {
    "04": (_outermost_decoder_channels, [(64, "second level"), (131, "does not concatenate the image"),
                                         (3, "outputs")]),
    "05": (_touching_cars_boundary, [(8, "2 pixels wide"), (0, "same class"), (64, "not every car pixel"),
                                     (2, "all 8 rows")]),
    "06": (_darkening_identity_loss, [(0.2, "alone"), (2.0, "relative to lambda_cycle"), (0.1, "not lambda_identity"),
                                      (0.0, "differs from b")]),
    "07": (lambda: " a", [("B", "layout"), ("C", "batch normalisation"), ("D", "AdaIN")]),
    "10": (_foreground_norm_effect, [("A", "flatter or sharper"), ("B", "keeps their order")]),
}


def test_every_second_question_has_a_graded_part():
    for py in sources(LABS):
        nn = py.name[:2]
        if "question_2" in py.read_text():
            assert f"lab{nn}.check_question_2(question_2)" in py.read_text(), py.name
            assert nn in QUESTIONS_2, f"{py.name}: add its second graded question to this test"


@pytest.mark.parametrize("nn", sorted(QUESTIONS_2))
def test_second_questions_pass_the_right_answer_and_name_wrong_ones(nn):
    check = importlib.import_module(f"course_lib.checks.lab{nn}").check_question_2
    right, wrongs = QUESTIONS_2[nn]
    check(right())
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)
    for wrong, message in wrongs:
        with pytest.raises(CheckFailure, match="question_2 is not right yet") as info:
            check(lambda w=wrong: w)
        assert message in str(info.value)
