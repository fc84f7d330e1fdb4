"""Lab 06's graders pass the reference, fail the stub, and name plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import CheckFailure, lab06
from course_lib.translation.cyclegan import ImagePool


def stub(*args, **kwargs):
    raise NotImplementedError("not written yet")


class StubPool:
    def __init__(self, pool_size=50):
        self.pool_size, self.images = pool_size, []

    def query(self, images):
        raise NotImplementedError("query: not written yet")


def test_reference_solutions_pass():
    lab06.check_lsgan_d_loss(lab06.reference_lsgan_d_loss)
    lab06.check_lsgan_g_loss(lab06.reference_lsgan_g_loss)
    lab06.check_cycle_loss(lab06.reference_cycle_loss)
    lab06.check_identity_loss(lab06.reference_identity_loss)
    lab06.check_image_pool(ImagePool)  # the library's pool is the reference


@pytest.mark.parametrize("check, fn", [
    (lab06.check_lsgan_d_loss, stub), (lab06.check_lsgan_g_loss, stub), (lab06.check_cycle_loss, stub),
    (lab06.check_identity_loss, stub), (lab06.check_image_pool, StubPool),
])
def test_untouched_exercises_fail_as_not_implemented(check, fn):
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(fn)


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f: ((r - 1) ** 2).mean() + (f ** 2).mean(), "multiply by 0.5"),
    (lambda r, f: 0.5 * ((r ** 2).mean() + ((f - 1) ** 2).mean()), "targets are swapped"),
    (lambda r, f: 0.5 * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                         + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))), "binary cross-entropy"),
    (lambda r, f: 0.5 * (((r - 1) ** 2).sum() + (f ** 2).sum()), "not the sum"),
    (lambda r, f: torch.tensor(float(0.5 * (((r - 1) ** 2).mean() + (f ** 2).mean()).detach())), "detached"),
])
def test_lsgan_d_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab06.check_lsgan_d_loss(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda f: (f ** 2).mean(), "towards 1, not 0"),
    (lambda f: 0.5 * ((f - 1) ** 2).mean(), "only the discriminator's loss is halved"),
    (lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)), "non-saturating BCE"),
    (lambda f: ((f - 1) ** 2).sum(), "not the sum"),
])
def test_lsgan_g_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab06.check_lsgan_g_loss(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * (((ra - a) ** 2).mean() + ((rb - b) ** 2).mean()), "L1 loss"),
    (lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * (ra - a).abs().mean(), "both directions count"),
    (lambda a, ra, b, rb, lambda_cycle=10.0: (ra - a).abs().mean() + (rb - b).abs().mean(), "multiply by lambda_cycle"),
    (lambda a, ra, b, rb, lambda_cycle=10.0: lambda_cycle * ((ra - a).abs().sum() + (rb - b).abs().sum()), "not the sum"),
    (lambda a, ra, b, rb, lambda_cycle=10.0: 10.0 * ((ra - a).abs().mean() + (rb - b).abs().mean()), "not a fixed 10"),
])
def test_cycle_loss_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab06.check_cycle_loss(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     lambda_cycle * lambda_identity * ((gab(a) - a).abs().mean() + (gba(b) - b).abs().mean()), "target\\* domain"),
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     lambda_identity * ((gab(b) - b).abs().mean() + (gba(a) - a).abs().mean()), "not lambda_identity alone"),
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     lambda_cycle * ((gab(b) - b).abs().mean() + (gba(a) - a).abs().mean()), "not lambda_cycle alone"),
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     lambda_cycle * lambda_identity * ((gab(b) - a).abs().mean() + (gba(a) - b).abs().mean()), "not with real_a"),
    # two mistakes at once (source domain *and* a hard-coded weight): no single mistake is named
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     5 * ((gab(a) - a).abs().mean() + (gba(b) - b).abs().mean()), "output should be 2.7806, got 2.71066"),
    (lambda gab, gba, a, b, lambda_cycle=10.0, lambda_identity=0.5:
     5 * ((gab(b).detach() - b).abs().mean() + (gba(a).detach() - a).abs().mean()), "gradient"),
])
def test_identity_loss_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab06.check_identity_loss(wrong)


class NoHistory(StubPool):
    def query(self, images):
        return images.detach()


class StoresButAlwaysNew(StubPool):
    def query(self, images):
        for im in images.detach():
            if len(self.images) < self.pool_size:
                self.images.append(im)
        return images.detach()


class NeverReplaces(StubPool):
    def query(self, images):
        out = []
        for im in images.detach():
            if len(self.images) < self.pool_size:
                self.images.append(im)
                out.append(im)
            elif torch.rand(()) < 0.5:
                out.append(self.images[int(torch.randint(self.pool_size, ()))])
            else:
                out.append(im)
        return torch.stack(out)


class AlwaysStored(StubPool):
    def query(self, images):
        out = []
        for im in images.detach():
            if len(self.images) < self.pool_size:
                self.images.append(im)
                out.append(im)
            else:
                k = int(torch.randint(self.pool_size, ()))
                out.append(self.images[k])
                self.images[k] = im
        return torch.stack(out)


class OneChoicePerBatch(StubPool):
    def query(self, images):
        images = images.detach()
        if len(self.images) < self.pool_size:
            self.images.extend(list(images))
            return images
        if torch.rand(()) < 0.5:
            return images
        idx = torch.randint(self.pool_size, (len(images),))
        out = torch.stack([self.images[int(k)] for k in idx])
        for k, im in zip(idx, images):
            self.images[int(k)] = im
        return out


class NotDetached(StubPool):
    def query(self, images):
        out = []
        for im in images:
            if len(self.images) < self.pool_size:
                self.images.append(im)
                out.append(im)
            elif torch.rand(()) < 0.5:
                k = int(torch.randint(self.pool_size, ()))
                out.append(self.images[k])
                self.images[k] = im
            else:
                out.append(im)
        return torch.stack(out)


class _Pool(StubPool):
    """A student-style pool; the class attributes select one mistake."""

    p_new = 0.5  # probability of returning the new image
    last = 0  # 1: the index is drawn from 0 .. pool_size - 2 (the last slot is never replaced)
    detach_stored = True

    def query(self, images):
        if self.pool_size == 0:
            return images.detach()
        out = []
        for im in images:
            stored = im.detach() if self.detach_stored else im
            if len(self.images) < self.pool_size:
                self.images.append(stored)
                out.append(im.detach())
            elif torch.rand(()) < self.p_new:
                out.append(im.detach())
            else:
                k = int(torch.randint(self.pool_size - self.last, ()))
                out.append(self.images[k].detach())
                self.images[k] = stored
        return torch.stack(out)


class ReturnsNewSixtyPercent(_Pool):
    p_new = 0.6


class NeverTheLastSlot(_Pool):
    last = 1


class StoresTheGraph(_Pool):
    detach_stored = False


def test_a_student_style_pool_passes():
    lab06.check_image_pool(_Pool)


class IgnoresZero(StubPool):
    def query(self, images):
        if self.pool_size == 0:
            return torch.zeros_like(images)
        return ImagePool.query(self, images)


@pytest.mark.parametrize("wrong, message", [
    (NoHistory, "every new image is stored"),
    (StoresButAlwaysNew, "always returns the new image"),
    (NeverReplaces, "must take its place"),
    (AlwaysStored, "half of the time"),
    (OneChoicePerBatch, "for \\*each image\\*"),
    (NotDetached, "detach them"),
    (IgnoresZero, "pool is off"),
    (ReturnsNewSixtyPercent, "came back in 6.\\..% of 2000 queries"),
    (NeverTheLastSlot, "the one in the last slot .* never came back"),
    (StoresTheGraph, "stored in self.images still requires a gradient"),
])
def test_image_pool_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        lab06.check_image_pool(wrong)


# ----------------------------------------------------------------------------- exercise 5: the outcome
def _train_cyclegan(variant: str = "ok"):
    """The solution's training loop built from the lab's reference pieces, or a named wrong variant."""
    from course_lib.nn import PatchGAN, init_weights
    from course_lib.translation.cyclegan import ResnetGenerator

    def train_cyclegan(domains, steps, batch_size, seed):
        torch.manual_seed(seed)
        G_AB, G_BA = (init_weights(ResnetGenerator(3, 3, 16, 3)) for _ in range(2))
        D_A, D_B = (init_weights(PatchGAN(3, 16, 3, norm="instance")) for _ in range(2))
        opt_g = torch.optim.Adam(list(G_AB.parameters()) + list(G_BA.parameters()), 1e-3, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), 1e-3, betas=(0.5, 0.999))
        pool_a, pool_b = ImagePool(50), ImagePool(50)
        # the mistake: G_AB's fakes judged by the summer discriminator (D is trained correctly)
        judge_b, judge_a = (D_A, D_B) if variant == "swapped_discriminators" else (D_B, D_A)
        for _ in range(steps):
            real_a = domains["A"][torch.randint(len(domains["A"]), (batch_size,))]
            real_b = domains["B"][torch.randint(len(domains["B"]), (batch_size,))]
            fake_b, fake_a = G_AB(real_a), G_BA(real_b)
            rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)
            loss_g = (lab06.reference_lsgan_g_loss(judge_b(fake_b)) + lab06.reference_lsgan_g_loss(judge_a(fake_a))
                      + lab06.reference_cycle_loss(real_a, rec_a, real_b, rec_b)
                      + lab06.reference_identity_loss(G_AB, G_BA, real_a, real_b))
            opt_g.zero_grad()
            loss_g.backward()
            if variant != "no_g_step":
                opt_g.step()
            loss_d = (lab06.reference_lsgan_d_loss(D_B(real_b), D_B(pool_b.query(fake_b)))
                      + lab06.reference_lsgan_d_loss(D_A(real_a), D_A(pool_a.query(fake_a))))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        return G_AB, G_BA
    return train_cyclegan


# seed 0 is graded in the solution notebook (nbval runs it); a second seed here shows the margin is not luck
@pytest.mark.parametrize("seed", [1])
def test_the_reference_training_beats_both_baselines(seed):
    G_AB, G_BA = lab06.check_train_cyclegan(_train_cyclegan(), seed=seed)
    assert isinstance(G_AB, torch.nn.Module) and isinstance(G_BA, torch.nn.Module)


def test_an_untouched_training_fails_as_not_implemented():
    with pytest.raises(CheckFailure, match="not implemented yet"):
        lab06.check_train_cyclegan(stub)


@pytest.mark.parametrize("variant", ["no_g_step", "swapped_discriminators"])
def test_broken_trainings_fail(variant):
    with pytest.raises(CheckFailure, match="should be below"):
        lab06.check_train_cyclegan(_train_cyclegan(variant), seed=0)


def test_returning_one_generator_is_reported():
    with pytest.raises(CheckFailure, match="two generators"):
        lab06.check_train_cyclegan(lambda domains, steps, batch_size, seed: torch.nn.Identity())
