"""Lab 07's graders pass the reference, fail the stub, and name plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailure, lab07
from course_lib.translation import munit


def stub(*args, **kwargs):
    raise NotImplementedError("not written yet")


def test_reference_solutions_pass():
    lab07.check_adain(lab07.reference_adain)
    lab07.check_adain(munit.adaptive_instance_norm)  # the library's AdaIN is the same function
    lab07.check_adain_res_block(lab07.reference_adain_res_block)
    lab07.check_latent_losses(lab07.reference_latent_losses)
    lab07.check_translate_multimodal(lab07.reference_translate_multimodal)


def test_library_block_and_losses_agree_with_the_graders():
    torch.manual_seed(0)
    block = munit.AdaINResBlock(4)
    mlp = munit.MLP(8, 16, hidden=16)
    x, s = torch.randn(2, 4, 6, 6), torch.randn(2, 8, 1, 1)
    assert torch.allclose(block(x, mlp(s)), lab07.reference_adain_res_block(x, s, mlp, block.conv1, block.conv2), atol=1e-6)
    gen_a, gen_b = lab07._gen(1), lab07._gen(2)
    xa, xb = torch.randn(2, 3, 16, 16).tanh(), torch.randn(2, 3, 16, 16).tanh()
    ca, cb = gen_a.encode(xa)[0], gen_b.encode(xb)[0]
    sa, sb = torch.randn(2, 8, 1, 1), torch.randn(2, 8, 1, 1)
    ours = munit.latent_reconstruction_losses(gen_a, gen_b, ca, cb, sa, sb, gen_b.decode(ca, sb), gen_a.decode(cb, sa))
    ref = lab07.reference_latent_losses(gen_a, gen_b, ca, cb, sa, sb)
    assert all(torch.allclose(ours[k], ref[k]) for k in ref)


@pytest.mark.parametrize("check", [lab07.check_adain, lab07.check_adain_res_block, lab07.check_latent_losses,
                                   lab07.check_translate_multimodal])
def test_untouched_exercises_fail_as_not_implemented(check):
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(stub)


@pytest.mark.parametrize("wrong, message", [
    (lab07._adain_with((0, 2, 3)), "that is batch norm"),
    (lab07._adain_with((1, 2, 3)), "that is layer norm"),
    (lab07._adain_with((2, 3), unbiased=True), "biased variance"),
    (lambda x, m, s, eps=1e-5: lab07.reference_adain(x, s, m, eps), "not the other way round"),
    (lambda x, m, s, eps=1e-5: x * s[:, :, None, None] + m[:, :, None, None], "normalise first"),
    (lambda x, m, s, eps=1e-5: lab07.reference_adain(x.detach(), m.detach(), s.detach(), eps), "detached"),
])
def test_adain_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab07.check_adain(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lab07._block_variant("s1 m1 s2 m2"), "the mean comes before the std"),
    (lab07._block_variant("m1 m2 s1 s2"), "all parameters of the first AdaIN"),
    (lab07._block_variant(residual=False), "adds its input back"),
    (lab07._block_variant(relu_after=True), "no ReLU after the second AdaIN"),
    (lab07._block_variant(reuse_first=True), "uses mean2 and std2"),
    (lambda x, s, mlp, c1, c2: x + c2(F.relu(c1(x))), "differs from the reference"),
])
def test_adain_res_block_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab07.check_adain_res_block(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lab07._latent_wrong_encoder, "B's encoder"),
    (lab07._latent_wrong_decoder, "with \\*B's\\* decoder"),
    (lab07._latent_swapped_targets, "must match style_a"),
    (lab07._latent_content_targets_swapped, "must match content_a"),
    (lab07._latent_mse, "not squared errors"),
    (lambda *args: {k: v for k, v in lab07.reference_latent_losses(*args).items() if k != "style_b"}, "missing the keys"),
])
def test_latent_losses_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab07.check_latent_losses(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lab07._multimodal_uniform, "standard normal"),
    (lab07._multimodal_decoder_a, "decode with gen_b"),
    (lab07._multimodal_encoder_b, "gen_a.encode"),
    (lab07._multimodal_own_style, "own style"),
    (lab07._multimodal_styles_per_image, "new code per image"),
    (lambda ga, gb, x, n, seed=0: lab07.reference_translate_multimodal(ga, gb, x, n, seed).transpose(0, 1), "shape"),
])
def test_translate_multimodal_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab07.check_translate_multimodal(wrong)


def _latent_detached_translations(gen_a, gen_b, ca, cb, sa, sb):
    """The right values, but G cannot learn from them: the translations are detached."""
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731
    x_ba, x_ab = gen_a.decode(cb, sa).detach(), gen_b.decode(ca, sb).detach()
    cb_rec, sa_rec = gen_a.encode(x_ba)
    ca_rec, sb_rec = gen_b.encode(x_ab)
    return {"content_a": l1(ca_rec, ca), "content_b": l1(cb_rec, cb), "style_a": l1(sa_rec, sa), "style_b": l1(sb_rec, sb)}


def test_latent_losses_with_detached_translations_fail():
    with pytest.raises(CheckFailure, match="the gradient w.r.t. `gen_a`.s parameter .* is missing"):
        lab07.check_latent_losses(_latent_detached_translations)


# ----------------------------------------------------------------------------- exercise 5: the outcome
def _train_munit(variant: str = "ok"):
    """The solution's training loop built from the lab's reference pieces, or a named wrong variant."""
    from course_lib.losses import discriminator_loss, generator_loss
    from course_lib.nn import init_weights
    from course_lib.translation import munit

    def train_munit(domains, steps, batch_size, seed):
        torch.manual_seed(seed)
        gen_a, gen_b = (munit.kaiming_init(munit.AdaINGenerator(3, 16, 8, 1, 2, 64)) for _ in range(2))
        dis_a, dis_b = (init_weights(munit.MultiScaleDiscriminator(3, 16, 3, 2)) for _ in range(2))
        adam = dict(lr=1e-3, betas=(0.5, 0.999), weight_decay=1e-4)
        opt_g = torch.optim.Adam(list(gen_a.parameters()) + list(gen_b.parameters()), **adam)
        opt_d = torch.optim.Adam(list(dis_a.parameters()) + list(dis_b.parameters()), **adam)
        for _ in range(steps):
            x_a = domains["A"][torch.randint(len(domains["A"]), (batch_size,))]
            x_b = domains["B"][torch.randint(len(domains["B"]), (batch_size,))]
            content_a, own_a = gen_a.encode(x_a)
            content_b, own_b = gen_b.encode(x_b)
            style_a, style_b = torch.randn(batch_size, 8, 1, 1), torch.randn(batch_size, 8, 1, 1)
            x_ba, x_ab = gen_a.decode(content_b, style_a), gen_b.decode(content_a, style_b)
            loss_d = (discriminator_loss(dis_a(x_a), dis_a(x_ba.detach()), "lsgan")
                      + discriminator_loss(dis_b(x_b), dis_b(x_ab.detach()), "lsgan"))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            if variant == "reconstruct_with_random_styles":  # the style encoder is never asked for anything
                own_a, own_b = style_a, style_b
            recon = ((gen_a.decode(content_a, own_a) - x_a).abs().mean()
                     + (gen_b.decode(content_b, own_b) - x_b).abs().mean())
            latent = lab07.reference_latent_losses(gen_a, gen_b, content_a, content_b, style_a, style_b)
            if variant == "no_within_domain_reconstruction":  # only the cross-domain half of Fig. 2
                recon = recon * 0
            loss_g = (generator_loss(dis_a(x_ba), "lsgan") + generator_loss(dis_b(x_ab), "lsgan")
                      + 10 * recon + sum(latent.values()))
            opt_g.zero_grad()
            loss_g.backward()
            if variant != "no_g_step":
                opt_g.step()
        return gen_a, gen_b
    return train_munit


# seed 0 is graded in the solution notebook (nbval runs it); a second seed here shows the margin is not luck
@pytest.mark.parametrize("seed", [1])
def test_the_reference_training_beats_the_mean_shape(seed):
    gen_a, gen_b = lab07.check_train_munit(_train_munit(), seed=seed)
    assert isinstance(gen_a, torch.nn.Module) and isinstance(gen_b, torch.nn.Module)


def test_an_untouched_training_fails_as_not_implemented():
    with pytest.raises(CheckFailure, match="not implemented yet"):
        lab07.check_train_munit(stub)


@pytest.mark.parametrize("variant", ["no_g_step", "no_within_domain_reconstruction"])
def test_broken_trainings_fail(variant):
    with pytest.raises(CheckFailure, match="should be below"):
        lab07.check_train_munit(_train_munit(variant), seed=0)


def test_returning_one_generator_is_reported():
    with pytest.raises(CheckFailure, match="two generators"):
        lab07.check_train_munit(lambda domains, steps, batch_size, seed: torch.nn.Identity())
