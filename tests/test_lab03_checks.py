"""Lab 03's graders pass the reference, fail the stub, and catch plausible wrong answers by name."""

import pytest
import torch
from torch import nn

from course_lib import losses
from course_lib.checks import CheckFailure, lab03


def stub(*args, **kwargs):
    raise NotImplementedError("not written yet")


def test_reference_solutions_pass():
    lab03.check_adain(lab03.reference_adain)
    lab03.check_conditional_instance_norm(lab03.reference_conditional_instance_norm)
    lab03.check_perceptual_loss(lab03.reference_perceptual_loss)


@pytest.mark.parametrize("check", [lab03.check_adain, lab03.check_conditional_instance_norm,
                                   lab03.check_perceptual_loss])
def test_untouched_exercises_fail_as_not_implemented(check):
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)


def _adain_torch_std(c, s, eps=1e-5):  # torch.std's default (unbiased) estimator
    return s.std((2, 3), keepdim=True) * (c - c.mean((2, 3), keepdim=True)) / c.std((2, 3), keepdim=True) \
        + s.mean((2, 3), keepdim=True)


def _adain_batch_stats(c, s, eps=1e-5):  # "missing batch dimension": statistics pooled over the batch
    mc, vc = c.mean((0, 2, 3), keepdim=True), c.var((0, 2, 3), keepdim=True, unbiased=False)
    ms, vs = s.mean((0, 2, 3), keepdim=True), s.var((0, 2, 3), keepdim=True, unbiased=False)
    return (vs + eps).sqrt() * (c - mc) / (vc + eps).sqrt() + ms


@pytest.mark.parametrize("wrong, message", [
    (_adain_batch_stats, "wrong axes: batch norm"),
    (lab03._adain_with((1, 2, 3)), "wrong axes \\(C, H, W\\)"),
    (lab03._adain_with((0, 1, 2, 3)), "over all axes"),
    (_adain_torch_std, "unbiased estimator"),
    (lab03._adain_no_style_mean, "style's mean is missing"),
    (lab03._adain_swapped, "swapped"),
    (lab03._adain_mean_only, "matched the mean only"),
    (lambda c, s, eps=1e-5: lab03.reference_adain(c, s, eps).detach(), "detached"),
])
def test_adain_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab03.check_adain(wrong)


def _cin_gamma_transposed(x, w, gamma, beta, eps=1e-5):  # weights applied per channel instead of per style
    return nn.functional.instance_norm(x, eps=eps) * gamma.sum(0)[None, :, None, None] + beta.sum(0)[None, :, None, None]


@pytest.mark.parametrize("wrong, message", [
    (lab03._cin_batch_stats, "over the batch too"),
    (lab03._cin_first_style, "every image uses style 0"),
    (lab03._cin_affine_first, "before normalising"),
    (lab03._cin_no_beta, "beta \\(the shift\\) is missing"),
    (_cin_gamma_transposed, "differs from the reference"),
])
def test_conditional_instance_norm_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab03.check_conditional_instance_norm(wrong)


def _pl_detached_output(of, cf, sg, layer, w):
    of = {k: v.detach() for k, v in of.items()}
    return lab03.reference_perceptual_loss(of, cf, sg, layer, w)


def _pl_style_of_the_photo(of, cf, sg, layer, w):  # style measured on the photo's features, not the output's
    content = nn.functional.mse_loss(of[layer], cf[layer])
    return content + w * losses.gram_style_loss(cf, sg)


@pytest.mark.parametrize("wrong, message", [
    (_pl_detached_output, "detached from the computation graph"),
    (lab03._pl_unnormalised_gram, "not normalised by C\\*H\\*W"),
    (lab03._pl_gatys_normalisation, "that is Gatys' style loss"),
    (lab03._pl_content_sum, "mean squared error"),
    (lab03._pl_content_everywhere, "only content_layer"),
    (lab03._pl_no_style_weight, "multiplied by style_weight"),
    (_pl_style_of_the_photo, "output should be"),
])
def test_perceptual_loss_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab03.check_perceptual_loss(wrong)


def test_perceptual_reference_matches_the_library_task_loss():
    """The lab's loss is the one FastStyleTask trains with (same normalisation and reduction)."""
    from course_lib.style.fast import FastStyleTask
    from course_lib.style.transformer_net import TransformerNet
    from course_lib.style.vgg import VGGFeatures

    torch.manual_seed(0)
    ext = VGGFeatures(layers=("relu1_1", "relu2_1"), weights=None)
    task = FastStyleTask(torch.rand(3, 24, 24), TransformerNet(channels=4, n_residual=0), ext, ("relu2_1",),
                         ("relu1_1", "relu2_1"), style_weight=7.0)
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    grams = {k: getattr(task, f"gram_{k}") for k in ("relu1_1", "relu2_1")}
    ours = task.losses(x, y, None)["loss"]
    lab = lab03.reference_perceptual_loss(ext(y), ext(x), grams, "relu2_1", 7.0)
    assert torch.allclose(ours, lab)
    assert torch.allclose(losses.gram_style_loss(ext(y), grams), task.losses(x, y, None)["style"])


def test_perceptual_loss_with_detached_targets_passes():
    def detached_targets(of, cf, sg, layer, w):
        return lab03.reference_perceptual_loss(of, {k: v.detach() for k, v in cf.items()},
                                               {k: v.detach() for k, v in sg.items()}, layer, w)

    lab03.check_perceptual_loss(detached_targets)

