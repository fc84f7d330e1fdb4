# %% [markdown]
# # Lab 04 · pix2pix: U-Net skips, the PatchGAN, and the conditional GAN losses
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/04_pix2pix_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/04_pix2pix_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# You will write the four pieces that make pix2pix (Isola et al., 2017) and check each one:
#
# 1. `skip_forward(block, x)`: the forward pass of one level of the U-Net generator;
# 2. `patchgan(in_channels, ndf, n_layers)`: the 70x70 PatchGAN discriminator;
# 3. `d_loss(D, x, y, fake)`: the discriminator's loss on real and fake *pairs*;
# 4. `g_loss(D, x, y, fake, lambda_l1)`: the generator's loss, cGAN + lambda_L1 * L1;
# 5. `train_pix2pix(pairs, steps, batch_size, seed)`: your four pieces in one training loop,
#    graded by how well the trained generator draws held-out facades.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 04_pix2pix_lab.ipynb`
# passes when every check passes).
#
# **Stuck?** `lab04.hint('skip_forward')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour and a half; everything runs in about a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="04_pix2pix_lab")

# %%
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import metrics
from course_lib.checks import lab04
from course_lib.translation.pix2pix import UnetGenerator, UnetSkipBlock, translate
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · One level of the U-Net
#
# pix2pix's generator is an encoder-decoder with **skip connections**: the features of encoder
# layer $i$ are concatenated to decoder layer $n - i$, so fine detail (where exactly is each
# window edge?) does not have to squeeze through the 1x1 bottleneck. The reference builds it
# recursively from blocks. A block owns three parts:
#
# * `block.down`: halves the size (LeakyReLU, 4x4 stride-2 conv, batch norm);
# * `block.inner`: the next, deeper level (the innermost block has `nn.Identity()` here);
# * `block.up`: doubles the size back (ReLU, 4x4 stride-2 transposed conv, batch norm).
#
# Write its forward pass: compute `y = up(inner(down(x)))`; return the concatenation of `x` and
# `y` along the channels, **input first**, except for the outermost block (`block.outermost`),
# whose `y` is the output image and is returned alone.

# %%
def skip_forward(block: UnetSkipBlock, x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, 2C, H, W), or the image (N, out, H, W) for the outermost block."""
    ### BEGIN SOLUTION
    y = block.up(block.inner(block.down(x)))
    if block.outermost:
        return y
    return torch.cat([x, y], dim=1)
    ### END SOLUTION


# %%
lab04.check_skip_forward(skip_forward)

# %% [markdown]
# Your forward pass now runs every level of a full-size U-Net 256 (8 levels, 1x1 bottleneck).
# The parameter count is the reference implementation's.

# %%
class MySkipBlock(UnetSkipBlock):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return skip_forward(self, x)


unet = UnetGenerator(3, 3, num_downs=8, ngf=64)
for module in unet.modules():
    if isinstance(module, UnetSkipBlock):
        module.__class__ = MySkipBlock  # use your forward in every level
with torch.no_grad():
    out = unet.eval()(torch.zeros(1, 3, 256, 256))
print(f"U-Net 256: {sum(p.numel() for p in unet.parameters()):,} parameters, output {tuple(out.shape)}")

# %% [markdown]
# ## Exercise 2 · The PatchGAN
#
# The discriminator does not return one verdict per image but a grid of verdicts, one per
# overlapping patch. Build it as an `nn.Sequential` (C64-C128-C256-C512 in the paper's notation):
#
# * a 4x4 conv, stride 2, padding 1, from `in_channels` to `ndf`, then `LeakyReLU(0.2)`
#   (no normalisation on this first layer);
# * for `n = 1 .. n_layers - 1`: a 4x4 conv, stride 2, padding 1, from `ndf * m_prev` to
#   `ndf * m` channels with `m = min(2**n, 8)`, `bias=False` (batch norm follows), then
#   `BatchNorm2d`, then `LeakyReLU(0.2)`;
# * the same once more with `m = min(2**n_layers, 8)` but **stride 1**;
# * a final 4x4 conv, stride 1, padding 1, to 1 channel: raw scores (logits), no sigmoid.

# %%
def patchgan(in_channels: int, ndf: int = 64, n_layers: int = 3) -> nn.Sequential:
    """(N, in_channels, H, W) -> (N, 1, H', W') patch logits."""
    ### BEGIN SOLUTION
    layers = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    m = 1
    for n in range(1, n_layers):
        m_prev, m = m, min(2**n, 8)
        layers += [nn.Conv2d(ndf * m_prev, ndf * m, 4, stride=2, padding=1, bias=False),
                   nn.BatchNorm2d(ndf * m), nn.LeakyReLU(0.2)]
    m_prev, m = m, min(2**n_layers, 8)
    layers += [nn.Conv2d(ndf * m_prev, ndf * m, 4, stride=1, padding=1, bias=False),
               nn.BatchNorm2d(ndf * m), nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(ndf * m, 1, 4, stride=1, padding=1))
    return nn.Sequential(*layers)
    ### END SOLUTION


# %%
lab04.check_patchgan(patchgan)

# %% [markdown]
# pix2pix's discriminator sees the input and the output *stacked as channels* (3 + 3 = 6), and
# gives a 256x256 pair a 30x30 grid of scores, each judging a 70x70 patch:

# %%
D_full = patchgan(6, 64, 3)
scores = D_full(torch.zeros(1, 6, 256, 256))
print(f"PatchGAN: {sum(p.numel() for p in D_full.parameters()):,} parameters, scores {tuple(scores.shape)}")

# %% [markdown]
# ## Exercise 3 · The discriminator's loss
#
# D learns to tell a real pair `(x, y)` from a fake pair `(x, G(x))`. With the vanilla GAN loss
# on logits, $\ell(s, t) = $ `F.binary_cross_entropy_with_logits(s, t)` (averaged over all patch
# scores):
#
# $$ L_D = \tfrac{1}{2}\big[\ell(D(x, y), 1) + \ell(D(x, G(x)), 0)\big] $$
#
# Three details matter: D sees **pairs** (`torch.cat([x, y], 1)`, condition first); the fake is
# **detached** (this update must not change G); and the sum is **halved**, which slows D down
# relative to G (the paper's choice).

# %%
def d_loss(D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Scalar loss of the discriminator for inputs x, real outputs y and generated outputs fake."""
    ### BEGIN SOLUTION
    real_scores = D(torch.cat([x, y], dim=1))
    fake_scores = D(torch.cat([x, fake.detach()], dim=1))
    real_loss = F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
    fake_loss = F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
    return 0.5 * (real_loss + fake_loss)
    ### END SOLUTION


# %%
lab04.check_d_loss(d_loss)

# %% [markdown]
# ## Exercise 4 · The generator's loss
#
# G wants D to call its pair real, and its output to be close to the target:
#
# $$ L_G = \ell(D(x, G(x)), 1) + \lambda_{L1}\, \lVert y - G(x) \rVert_1, \qquad \lambda_{L1} = 100 $$
#
# (the *non-saturating* form: G maximises $\log D$ rather than minimising $\log(1 - D)$, whose
# gradient vanishes when D wins). The L1 term is a mean absolute error; the fake is **not**
# detached here, since the adversarial gradient must reach G through D.

# %%
def g_loss(D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor,
           lambda_l1: float = 100.0) -> torch.Tensor:
    """Scalar loss of the generator."""
    ### BEGIN SOLUTION
    scores = D(torch.cat([x, fake], dim=1))
    adversarial = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
    return adversarial + lambda_l1 * F.l1_loss(fake, y)
    ### END SOLUTION


# %%
lab04.check_g_loss(g_loss)

# %% [markdown]
# ## Exercise 5 · Put it together: train your pix2pix
#
# Now assemble your four pieces into a whole pix2pix and train it, with a plain PyTorch loop
# (no library trainer). `train_pix2pix(pairs, steps, batch_size, seed)` gets the training pairs
# as two tensors, `pairs["input"]` (label maps) and `pairs["target"]` (facades), both
# (N, 3, 32, 32) in [-1, 1], and returns the trained generator. Build:
#
# * **G**: `UnetGenerator(3, 3, num_downs=5, ngf=16)` with *your* skip forward in every level
#   (`use_my_skips(G)` below does that); **D**: *your* `patchgan(6, 16, 2)` (its 34x34 patches
#   cover about the whole 32x32 image);
# * one Adam optimizer per network, lr 2e-4, betas (0.5, 0.999) (Isola et al., 2017, sec. 3.3);
# * `steps` iterations, each on `batch_size` pairs drawn at random: `fake = G(x)`, then **D's update
#   with your `d_loss`**, then **G's update with your `g_loss`**. Zero each optimizer's gradients
#   before its backward pass. Call `torch.manual_seed(seed)` first, so that a run can be repeated.
#
# The check trains your function on 400 procedural facades for 300 iterations (about 15-30 s)
# and measures the L1 error on 64 held-out facades. It passes when your generator clearly beats
# the trivial answer "always draw the mean training facade"; the reference solution's scores over
# five seeds are printed next to yours. Held-out data means the check cannot be passed by
# memorising the training pairs.

# %%
def use_my_skips(G: UnetGenerator) -> UnetGenerator:
    """Make every level of ``G`` run your ``skip_forward``."""
    for module in G.modules():
        if isinstance(module, UnetSkipBlock):
            module.__class__ = MySkipBlock
    return G


# %%
def train_pix2pix(pairs: dict[str, torch.Tensor], steps: int, batch_size: int, seed: int) -> nn.Module:
    """Train pix2pix on pairs["input"] -> pairs["target"] ((N, 3, 32, 32) in [-1, 1]); return G."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    G = use_my_skips(UnetGenerator(3, 3, num_downs=5, ngf=16))
    D = patchgan(6, 16, 2)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    inputs, targets = pairs["input"], pairs["target"]
    for _ in range(steps):
        index = torch.randint(len(inputs), (batch_size,))
        x, y = inputs[index], targets[index]
        fake = G(x)
        opt_D.zero_grad()
        d_loss(D, x, y, fake).backward()  # d_loss detaches fake: G is not touched here
        opt_D.step()
        opt_G.zero_grad()
        g_loss(D, x, y, fake).backward()  # a fresh score from the updated D
        opt_G.step()
    return G
    ### END SOLUTION


# %%
G = lab04.check_train_pix2pix(train_pix2pix)

# %% [markdown]
# Your generator on held-out label maps, next to the mean training facade (the baseline it had to
# beat) and the true facades:

# %%
train_pairs, test_pairs = lab04.facade_data()
x, y = test_pairs["input"][:8], test_pairs["target"][:8]
with torch.no_grad():
    fake = translate(G, x)  # pix2pix's test protocol: dropout on, batch statistics
mean_facade = train_pairs["target"].mean(0, keepdim=True).expand_as(y)
for name, pred in {"mean training facade": mean_facade, "your pix2pix": fake}.items():
    print(f"{name:<22} L1 {metrics.l1(pred, y).mean():.3f}   PSNR {metrics.psnr(pred, y, (-1, 1)).mean():5.2f} dB")
fig = show_rows({"labels": x, "your pix2pix": fake, "mean facade": mean_facade, "target": y},
                value_range=(-1, 1))

# %% [markdown]
# ## Questions
#
# 1. Your D loss halves the sum of two terms. What would change if D were *unconditional*
#    (it sees only `y` or `G(x)`)? Which term of G's loss would then be the only one tying the
#    output to the input?
# 2. Why does the decoder of the outermost block not get a skip connection?
#
# <!-- BEGIN SOLUTION -->
# 1. An unconditional D only asks "is this a realistic facade?", so a sharp, realistic facade
#    with windows in the wrong places fools it; the adversarial term no longer cares whether the
#    output matches the label map, and only the L1 term ties the output to the input. (The
#    halving is unrelated: it only slows D down relative to G.)
# 2. The outermost block's output *is* the image; a skip there would add the input's channels to
#    the output instead of feeding them to a later layer. The input still reaches the last
#    decoder layer through the skip of the second level, one step inside.
# <!-- END SOLUTION -->

# %% [markdown]
# **Graded part (question 1).** With an unconditional D, which term of G's loss would be the only
# one tying the output to the input? Return one letter from `question_1()`:
#
# * **A** the adversarial term;
# * **B** the L1 term;
# * **C** neither.

# %%
def question_1() -> str:
    """One letter: A, B or C."""
    ### BEGIN SOLUTION
    return "B"
    ### END SOLUTION


# %%
lab04.check_question_1(question_1)

# %% [markdown]
# **Graded part (question 2).** In the U-Net 256 of exercise 1 (`ngf=64`), how many channels
# enter the outermost block's decoder (`block.up`, whose transposed convolution outputs the
# 3-channel image)? Return the number from `question_2()` (you may count them on `unet`).

# %%
def question_2() -> int:
    """The number of input channels of the outermost block's up-convolution."""
    ### BEGIN SOLUTION
    return 128  # the inner levels return cat(64 skipped, 64 decoded) channels
    ### END SOLUTION


# %%
lab04.check_question_2(question_2)
