# %% [markdown]
# # Lab 06 · CycleGAN: the losses and the image pool
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/06_cyclegan_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/06_cyclegan_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# CycleGAN learns to translate between two domains from *unpaired* images. Lecture 06 showed the
# whole method; here you write its characteristic pieces yourself:
#
# 1. the LSGAN losses of the discriminator and of the generator;
# 2. the cycle-consistency loss of both directions;
# 3. the identity loss;
# 4. the image pool that shows the discriminators a history of fakes;
# 5. `train_cyclegan(domains, steps, batch_size, seed)`: your four pieces in one training loop on
#    the procedural summer <-> winter scenes, graded by how close the translations of held-out
#    summer scenes come to their hidden true winter versions.
#
# **How it works.** Each exercise is a function (or a method) with a `raise NotImplementedError(...)`
# line. Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 06_cyclegan_lab.ipynb`).
#
# **Stuck?** `lab06.hint('lsgan_d_loss')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour; the final training takes under a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="06_cyclegan_lab")

# %%
import torch
from torch import nn

from course_lib.checks import lab06
from course_lib.nn import PatchGAN, init_weights
from course_lib.translation import cyclegan
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · LSGAN losses
#
# CycleGAN replaces the GAN's cross-entropy by squared errors (least-squares GAN, Mao et al. 2017):
# the discriminator's raw scores should be 1 on real images and 0 on fakes, the generator wants
# its fakes scored 1. The scores are PatchGAN maps (N, 1, h, w); average over all of them.
#
# $$\mathcal{L}_D = \tfrac12\big(\mathbb{E}[(D(y) - 1)^2] + \mathbb{E}[D(G(x))^2]\big), \qquad
#   \mathcal{L}_G = \mathbb{E}[(D(G(x)) - 1)^2]$$
#
# The factor 1/2 on the discriminator's loss is CycleGAN's: it slows D down relative to G.

# %%
def lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss from its scores on real images and on (detached) fakes; a scalar."""
    ### BEGIN SOLUTION
    return 0.5 * (((d_real - 1) ** 2).mean() + (d_fake**2).mean())
    ### END SOLUTION


def lsgan_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from the discriminator's scores on its fakes; a scalar."""
    ### BEGIN SOLUTION
    return ((d_fake - 1) ** 2).mean()
    ### END SOLUTION


# %%
lab06.check_lsgan_d_loss(lsgan_d_loss)

# %%
lab06.check_lsgan_g_loss(lsgan_g_loss)

# %% [markdown]
# Why squares instead of the log loss? A fake that D already scores far on the "real" side still
# gets pushed towards the decision boundary, and the gradients do not vanish when D is confident.
# In practice LSGAN trains more stably and gives fewer washed-out images.
#
# ## Exercise 2 · Cycle consistency
#
# With unpaired data nothing tells $G$ *which* winter scene a summer scene should become. The cycle
# loss asks for the one thing that pairs would have guaranteed: translating there and back returns
# the input, in both directions,
#
# $$\mathcal{L}_{cyc} = \lambda\,\mathbb{E}\,\lVert F(G(a)) - a\rVert_1 + \lambda\,\mathbb{E}\,\lVert G(F(b)) - b\rVert_1, \qquad \lambda = 10.$$
#
# `rec_a` is $F(G(a))$ and `rec_b` is $G(F(b))$. Use the mean absolute difference.

# %%
def cycle_loss(real_a: torch.Tensor, rec_a: torch.Tensor, real_b: torch.Tensor, rec_b: torch.Tensor,
               lambda_cycle: float = 10.0) -> torch.Tensor:
    """Cycle-consistency loss of both directions, weighted by lambda_cycle; a scalar."""
    ### BEGIN SOLUTION
    return lambda_cycle * ((rec_a - real_a).abs().mean() + (rec_b - real_b).abs().mean())
    ### END SOLUTION


# %%
lab06.check_cycle_loss(cycle_loss)

# %% [markdown]
# ## Exercise 3 · The identity loss
#
# An image that is *already* in the target domain should pass through the generator unchanged:
# $G_{AB}(b) \approx b$ and $G_{BA}(a) \approx a$. Without this term, CycleGAN is free to change
# the colours of everything (the paper's painting -> photo results turned day into dusk). Its
# weight is $\lambda_{cyc} \cdot \lambda_{id} = 10 \times 0.5$:
#
# $$\mathcal{L}_{id} = \lambda_{cyc}\lambda_{id}\big(\mathbb{E}\,\lVert G_{AB}(b) - b\rVert_1 + \mathbb{E}\,\lVert G_{BA}(a) - a\rVert_1\big)$$

# %%
def identity_loss(G_AB: nn.Module, G_BA: nn.Module, real_a: torch.Tensor, real_b: torch.Tensor,
                  lambda_cycle: float = 10.0, lambda_identity: float = 0.5) -> torch.Tensor:
    """Identity loss of both generators; a scalar."""
    ### BEGIN SOLUTION
    weight = lambda_cycle * lambda_identity
    return weight * ((G_AB(real_b) - real_b).abs().mean() + (G_BA(real_a) - real_a).abs().mean())
    ### END SOLUTION


# %%
lab06.check_identity_loss(identity_loss)

# %% [markdown]
# ## Exercise 4 · The image pool
#
# The discriminators are updated on a *history* of generated images rather than only the latest
# ones (Shrivastava et al. 2017), which stops D and G from chasing each other in circles.
# `query(images)` receives a batch of new fakes and returns a batch of the same shape. For each
# image of the batch:
#
# * while the pool holds fewer than `pool_size` images: store the image and return it;
# * once it is full: with probability 1/2 return the new image (pool unchanged); otherwise pick a
#   stored image at random, return it, and put the new image in its place.
#
# Store and return images **detached** (`images.detach()`): the discriminator's update must not
# reach the generator. `pool_size = 0` switches the pool off (return the input). Use
# `torch.rand(())` and `torch.randint(...)` for the random choices.

# %%
class ImagePool:
    """A history of generated images for the discriminator."""

    def __init__(self, pool_size: int = 50) -> None:
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []  # stored images, each (C, H, W)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) new fakes -> (N, C, H, W) fakes for the discriminator."""
        ### BEGIN SOLUTION
        images = images.detach()
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                k = int(torch.randint(self.pool_size, ()))
                out.append(self.images[k])
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
        ### END SOLUTION


# %%
lab06.check_image_pool(ImagePool)

# %% [markdown]
# ## Exercise 5 · Put it together: train your CycleGAN
#
# Now assemble your four pieces into a whole CycleGAN and train it with a plain PyTorch loop (no
# library trainer). `train_cyclegan(domains, steps, batch_size, seed)` gets the training images
# as two tensors, `domains["A"]` (summer scenes) and `domains["B"]` (winter scenes), each
# (N, 3, 32, 32) in [-1, 1] and drawn from *independent* layouts: there are no pairs. It returns
# the two trained generators `(G_AB, G_BA)`. Build:
#
# * **G_AB**, **G_BA**: `cyclegan.ResnetGenerator(3, 3, ngf=16, n_blocks=3)`; **D_A**, **D_B**:
#   `PatchGAN(3, 16, 3, norm="instance")` (the 70x70 PatchGAN, narrower); pass each network through
#   `init_weights` (weights from N(0, 0.02), as the reference initialises them);
# * one Adam optimizer for both generators' parameters and one for both discriminators', lr 1e-3,
#   betas (0.5, 0.999) (the paper's rate is 2e-4; the higher one lets a hundred steps suffice);
# * one of *your* `ImagePool(50)` per discriminator;
# * `steps` iterations, each on a batch of `batch_size` summer images and an independent batch of
#   winter images drawn at random, in the reference's order: translate both ways and back
#   (`fake_b = G_AB(real_a)`, `rec_a = G_BA(fake_b)`, and the same from B), then **the generators'
#   update** with *your* `lsgan_g_loss` (G_AB is judged by D_B, the winter discriminator, and G_BA
#   by D_A) plus *your* `cycle_loss` and `identity_loss`; then **the discriminators' update** with
#   *your* `lsgan_d_loss`, each discriminator on its domain's real batch and on fakes from its pool.
#   Zero each optimizer's gradients before its backward pass. Call `torch.manual_seed(seed)` first.
#
# The check trains your function on 400 images per season for 100 iterations (about 30-60 s) and
# translates 64 held-out summer scenes. The data set renders every layout in both seasons, so the
# check knows the true winter version of each one, which CycleGAN never sees: it passes when your
# translations are clearly closer to the truth than two trivial answers, the untranslated summer
# scene and a real winter scene of another layout. The reference solution's scores over five seeds
# are printed next to yours.

# %%
def train_cyclegan(domains: dict[str, torch.Tensor], steps: int, batch_size: int,
                   seed: int) -> tuple[nn.Module, nn.Module]:
    """Train CycleGAN on unpaired domains["A"] and domains["B"] ((N, 3, 32, 32) in [-1, 1]); return (G_AB, G_BA)."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    G_AB = init_weights(cyclegan.ResnetGenerator(3, 3, ngf=16, n_blocks=3))
    G_BA = init_weights(cyclegan.ResnetGenerator(3, 3, ngf=16, n_blocks=3))
    D_A = init_weights(PatchGAN(3, 16, 3, norm="instance"))
    D_B = init_weights(PatchGAN(3, 16, 3, norm="instance"))
    opt_G = torch.optim.Adam(list(G_AB.parameters()) + list(G_BA.parameters()), lr=1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=1e-3, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(50), ImagePool(50)
    summer, winter = domains["A"], domains["B"]
    for _ in range(steps):
        real_a = summer[torch.randint(len(summer), (batch_size,))]
        real_b = winter[torch.randint(len(winter), (batch_size,))]  # an independent draw: no pairs
        fake_b, fake_a = G_AB(real_a), G_BA(real_b)
        rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)
        loss_G = (lsgan_g_loss(D_B(fake_b)) + lsgan_g_loss(D_A(fake_a))
                  + cycle_loss(real_a, rec_a, real_b, rec_b) + identity_loss(G_AB, G_BA, real_a, real_b))
        opt_G.zero_grad()
        loss_G.backward()
        opt_G.step()
        # the pools return detached fakes: D's update does not reach the generators
        loss_D = (lsgan_d_loss(D_B(real_b), D_B(pool_b.query(fake_b)))
                  + lsgan_d_loss(D_A(real_a), D_A(pool_a.query(fake_a))))
        opt_D.zero_grad()
        loss_D.backward()
        opt_D.step()
    return G_AB, G_BA
    ### END SOLUTION


# %%
G_AB, G_BA = lab06.check_train_cyclegan(train_cyclegan)

# %% [markdown]
# Your translations of held-out summer scenes, their true winter versions, and the way back:

# %%
train_domains, held_out = lab06.season_data()
G_AB.eval()
G_BA.eval()
scores = cyclegan.heldout_scores(G_AB, held_out["A"], held_out["B"])
print("summer -> winter on 64 held-out scenes    L1     PSNR")
for name, s in scores.items():
    print(f"  {'your CycleGAN' if name == 'model' else 'untranslated input':<38} {s['l1']:.3f}  {s['psnr']:5.1f} dB")
with torch.no_grad():
    fake = G_AB(held_out["A"][:6])
    back = G_BA(fake)
fig = show_rows({"summer (input)": held_out["A"][:6], "G(summer)": fake.clamp(-1, 1),
                 "true winter": held_out["B"][:6], "F(G(summer))": back.clamp(-1, 1)}, value_range=(-1, 1))

# %% [markdown]
# ## Questions
#
# 1. Set `lambda_identity = 0` in your head: which of the outputs above could change, and why does
#    the identity loss matter less for summer -> winter than for painting -> photo?
#
# <!-- BEGIN SOLUTION -->
# The identity loss only constrains what a generator does to images that already look like its
# target domain; without it, nothing stops G from shifting colours that the discriminator does not
# care about (the overall tint, the sky's hue), as long as F undoes the shift on the way back. In
# summer -> winter almost every colour *must* change (green to white), so the discriminator pins
# them down anyway; for painting -> photo the colours should stay as they are, and only the
# identity loss says so (the paper's Fig. 9: without it, Monet's daylight turned to dusk).
# <!-- END SOLUTION -->
#
# 2. Why does the discriminator see images from the pool rather than only the newest fakes, but the
#    generator's adversarial loss always uses the newest fakes?
#
# <!-- BEGIN SOLUTION -->
# The generator can only be improved through its *current* outputs: the gradient of the
# adversarial loss must flow through today's G, so its loss uses today's fakes. The discriminator,
# in contrast, should not forget what earlier generators produced; otherwise G can jump back to an
# old failure mode that D has stopped penalising, and the two oscillate. A pool of 50 past fakes
# keeps D's judgement stable across that history.
# <!-- END SOLUTION -->

# %% [markdown]
# **Graded part (question 2).** Which loss takes its fakes from the image pool? Return one letter
# from `question_1()`:
#
# * **A** the discriminator's loss only;
# * **B** the generator's adversarial loss only;
# * **C** both adversarial losses;
# * **D** the cycle-consistency loss.

# %%
def question_1() -> str:
    """One letter: A, B, C or D."""
    ### BEGIN SOLUTION
    return "A"
    ### END SOLUTION


# %%
lab06.check_question_1(question_1)

# %% [markdown]
# **Graded part (question 1).** The colour drift that the identity loss prevents, in numbers: a
# `G_AB` that darkens every image by 0.2 (`G_AB(b) = b - 0.2`, images in [-1, 1]) and a perfect
# `G_BA` (the identity). What does `identity_loss` return with its default weights? Return it
# from `question_2()` (compute it with your `identity_loss`).

# %%
def question_2() -> float:
    """The identity loss of a G_AB that darkens by 0.2 and an identity G_BA, default weights."""
    ### BEGIN SOLUTION
    images = torch.rand(2, 3, 8, 8) * 2 - 1
    return float(identity_loss(lambda b: b - 0.2, nn.Identity(), images, images))
    ### END SOLUTION


# %%
lab06.check_question_2(question_2)
