# %% [markdown]
# # Lab 06 · CycleGAN: the losses and the image pool
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/main/solutions/06_cyclegan_lab.ipynb)

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
# 4. the image pool that shows the discriminators a history of fakes.
#
# At the end your four pieces replace the library's inside a real CycleGAN, which is trained on
# the procedural summer -> winter scenes and must beat the untranslated input on held-out pairs.
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
# **Time:** about 45 minutes; the final training takes under a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="06_cyclegan_lab")

# %%
import torch
from torch import nn

from course_lib import by_mode
from course_lib.checks import lab06
from course_lib.data.unpaired import SeasonScenes
from course_lib.train import TrainConfig, Trainer
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
# ## Putting it together: your CycleGAN
#
# `course_lib.translation.cyclegan.CycleGANTask` is the reference. Below, a subclass swaps in your
# four pieces: your losses in both updates and your pool in front of each discriminator.
# Everything else (the ResNet generators, the 70x70 PatchGANs, Adam 2e-4 with betas (0.5, 0.999),
# the training loop) is the library's. We train it on the procedural summer <-> winter scenes,
# then translate held-out summer scenes and compare them with their *true* winter counterparts,
# which the data set can render because both domains come from one hidden layout.

# %%
class MyCycleGAN(cyclegan.CycleGANTask):
    """CycleGAN with the lab's losses and pool."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.my_pool_a = ImagePool(50)
        self.my_pool_b = ImagePool(50)

    def update_loss(self, name, batch, out, phase):
        real_a, real_b = batch["A"], batch["B"]
        if name == "G":
            adv = lsgan_g_loss(self.D_B(out["fake_b"])) + lsgan_g_loss(self.D_A(out["fake_a"]))
            cyc = cycle_loss(real_a, out["rec_a"], real_b, out["rec_b"], self.lambda_cycle)
            idt = identity_loss(self.G_AB, self.G_BA, real_a, real_b, self.lambda_cycle, self.lambda_identity)
            return {"loss": adv + cyc + idt, "adv": adv, "cycle": cyc, "identity": idt}
        fake_b = self.my_pool_b.query(out["fake_b"])
        fake_a = self.my_pool_a.query(out["fake_a"])
        d_b = lsgan_d_loss(self.D_B(real_b), self.D_B(fake_b))
        d_a = lsgan_d_loss(self.D_A(real_a), self.D_A(fake_a))
        return {"loss": d_a + d_b, "D_A": d_a, "D_B": d_b}


p = cyclegan.preset("quick")
size = by_mode(quick=p.size, full=128)
steps = by_mode(quick=120, full=20_000)
torch.manual_seed(0)
task = MyCycleGAN(ngf=by_mode(quick=p.ngf, full=32), ndf=by_mode(quick=p.ndf, full=64),
                  n_blocks=6, lr=by_mode(quick=p.lr, full=2e-4))
config = TrainConfig(steps=steps, batch_size=p.batch_size, lr_decay_start=steps // 2, log_every=25)
history = Trainer(task, SeasonScenes(length=5000, size=size, seed=0), config).fit()
print(f"trained {steps} steps in {history.seconds:.0f} s")

held_out = SeasonScenes(length=64, size=size, seed=1, paired=True).pairs()
scores = cyclegan.heldout_scores(lambda x: task.translate(x, "AtoB"), held_out["A"], held_out["B"])
print("summer -> winter on 64 held-out scenes    L1     PSNR")
for name, s in scores.items():
    print(f"  {'your CycleGAN' if name == 'model' else 'untranslated input':<38} {s['l1']:.3f}  {s['psnr']:5.1f} dB")
assert scores["model"]["l1"] < scores["input"]["l1"], "the translation should be closer to the truth than the input"

# %%
with torch.no_grad():
    fake = task.translate(held_out["A"][:6], "AtoB")
    back = task.translate(fake, "BtoA")
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
