"""Lab 05's graders pass the reference, fail the stub, and catch plausible wrong answers by name."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailure, lab05


def stub(*args, **kwargs):
    raise NotImplementedError("not written yet")


def test_reference_solutions_pass():
    lab05.check_boundary_map(lab05.reference_boundary_map)
    lab05.check_multiscale_forward(lab05.reference_multiscale_forward)
    lab05.check_feature_matching(lab05.reference_feature_matching)


@pytest.mark.parametrize("check", [lab05.check_boundary_map, lab05.check_multiscale_forward, lab05.check_feature_matching])
def test_untouched_exercises_fail_as_not_implemented(check):
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)


def test_a_loop_based_boundary_map_passes():
    def loops(ids):
        n, h, w = ids.shape
        out = torch.zeros(n, 1, h, w)
        for b in range(n):
            for i in range(h):
                for j in range(w):
                    for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                        if 0 <= i + di < h and 0 <= j + dj < w and ids[b, i + di, j + dj] != ids[b, i, j]:
                            out[b, 0, i, j] = 1
        return out
    lab05.check_boundary_map(loops)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lab05._one_side, "only one pixel of each differing pair"),
        (lab05._eight_neighbours, "diagonal neighbours"),
        (lab05._horizontal_only, "only horizontal"),
        (lab05._rolled, "torch.roll wraps around"),
        (lab05._no_channel, "channel dimension"),
        (lambda ids: lab05.reference_boundary_map(ids).bool(), "dtype"),
    ],
)
def test_boundary_map_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_boundary_map(wrong)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lab05._ms_no_pool, "full-resolution input: downsample"),
        (lab05._ms_pool_first, "first discriminator must see the full-resolution"),
        (lab05._ms_not_cumulative, "downsampled i times"),
        (lab05._ms_max_pool, "not max pooling"),
        (lab05._ms_count_pad, "count_include_pad=False"),
        (lab05._ms_reversed, "finest first"),
        (lab05._ms_logits_only, "not only the final scores"),
    ],
)
def test_multiscale_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_multiscale_forward(wrong)


def _fm(fake, real, lam=10.0, detach=True, **kw):
    if not detach:
        total = 0.0
        for fs, rs in zip(fake, real):
            n = len(fs) - 1
            for f, r in zip(fs[:-1], rs[:-1]):
                total = total + 4.0 / n / len(fake) * lam * F.l1_loss(f, r)
        return total
    return lab05._fm(fake, real, lam, **kw)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda f, r, lam=10.0: _fm(f, r, lam, logits=True), "final scores"),
        (lambda f, r, lam=10.0: _fm(f, r, lam, w_layer=False), "4 / n"),
        (lambda f, r, lam=10.0: _fm(f, r, lam, w_scale=False), "1 / num_D"),
        (lambda f, r, lam=10.0: _fm(f, r, lam, dist="l2"), "not the squared error"),
        (lambda f, r, lam=1.0: _fm(f, r, lam), "default to 10"),
        (lambda f, r, lam=10.0: _fm(f, r, lam, detach=False), "real.detach"),
        (lambda f, r, lam=10.0: _fm(f, r, lam).detach(), "no gradient"),
    ],
)
def test_feature_matching_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab05.check_feature_matching(wrong)
