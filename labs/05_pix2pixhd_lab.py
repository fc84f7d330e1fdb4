# %% [markdown]
# # Lab 05 · pix2pixHD: boundary maps, multi-scale discriminators, feature matching
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/labs/05_pix2pixhd_lab.ipynb)

# %% [markdown]
# pix2pixHD (Wang et al., CVPR 2018) turns label maps into 2048x1024 photos. You will write three
# of its pieces and check each one:
#
# 1. `boundary_map(instances)`: where one object ends and the next begins;
# 2. `multiscale_forward(discriminators, x)`: the same discriminator design at three scales;
# 3. `feature_matching(fake_feats, real_feats)`: the loss that matches the discriminators'
#    intermediate features of real and generated images;
# 4. `train_pix2pixhd(scenes, steps, batch_size, seed)`: your three pieces in one training loop,
#    graded by how well the trained generator paints held-out street scenes.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 05_pix2pixhd_lab.ipynb`).
#
# **Stuck?** `lab05.hint('boundary_map')` prints a hint for an exercise (the function's name);
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

setup = course_lib.setup(seed=0, notebook="05_pix2pixhd_lab")

# %%
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import lab05
from course_lib.data.paired import StreetScenes, label_colours
from course_lib.translation import pix2pixhd
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · The instance boundary map
#
# A label map says "car" for every car pixel. When two cars touch, the label map shows one blob;
# the *instance* map gives every object its own id. pix2pixHD feeds the generator the most useful
# part of the instance map: its **boundaries**. A pixel is on a boundary (1) if its id differs from
# that of at least one of its 4 neighbours (left, right, up, down), otherwise 0. Both pixels of a
# differing pair are marked, so boundaries are 2 pixels wide.
#
# Input: `(N, H, W)` integer ids. Output: `(N, 1, H, W)` float (0 or 1). Pixels outside the image
# do not count as neighbours.

# %%
def boundary_map(instances: torch.Tensor) -> torch.Tensor:
    """(N, H, W) instance ids -> (N, 1, H, W) float map, 1 where a 4-neighbour has another id."""
    # YOUR CODE HERE
    raise NotImplementedError("boundary_map: not written yet. Run lab05.hint('boundary_map') for a hint")


# %%
lab05.check_boundary_map(boundary_map)

# %% [markdown]
# On the course's street scenes: the buildings touch each other, and so do the parked cars. The
# label map cannot tell where one ends; your boundary map can.

# %%
scenes = StreetScenes(length=4, size=64, seed=3)
batch = torch.utils.data.default_collate([scenes[i] for i in range(4)])
edges = boundary_map(batch["instances"])
fig = show_rows({"labels": label_colours(batch["labels"], StreetScenes.palette),
                 "boundary map": edges.expand(-1, 3, -1, -1) * 2 - 1, "photo": batch["target"]},
                value_range=(-1, 1), scale=1.8)

# %% [markdown]
# ## Exercise 2 · The multi-scale discriminator
#
# A 2048x1024 image needs a discriminator with a huge receptive field to judge its layout, and
# fine detail needs one that looks closely. pix2pixHD uses the *same* PatchGAN design at several
# scales: discriminator `i` sees the input downsampled `i` times. Write the forward pass:
#
# * discriminator 0 sees `x` itself;
# * before each following discriminator, downsample the previous input by 2 with
#   `F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)` (the reference's pooling);
# * return the list of the discriminators' outputs, finest scale first. Each output is itself a
#   list (the discriminator's intermediate feature maps, then its scores): keep it whole.

# %%
def multiscale_forward(discriminators: list[nn.Module], x: torch.Tensor) -> list:
    """Outputs of discriminator i on x downsampled i times, finest first."""
    # YOUR CODE HERE
    raise NotImplementedError("multiscale_forward: not written yet. Run lab05.hint('multiscale_forward') for a hint")


# %%
lab05.check_multiscale_forward(multiscale_forward)

# %% [markdown]
# Each scale of pix2pixHD's discriminator returns 4 feature maps and a grid of scores. With the
# same layers, the coarsest scale's scores each cover 4 times more of the image than the finest:

# %%
D = pix2pixhd.MultiscaleDiscriminator(in_channels=6 + 1 + 3, ndf=8, n_layers=3, num_D=3)
pair = torch.randn(1, 10, 128, 128)
for i, feats in enumerate(multiscale_forward(list(D.scales), pair)):
    print(f"scale {i}: " + ", ".join(str(tuple(f.shape[1:])) for f in feats))

# %% [markdown]
# ## Exercise 3 · The feature-matching loss
#
# Besides fooling the discriminators, pix2pixHD's generator matches their *intermediate features*
# on the real and the generated image, which stabilises training (the discriminator becomes a
# learned perceptual distance). For each scale `i` and each intermediate map `j` (all entries of
# a scale's list except the last, which is the scores):
#
# $$ L_{FM} = \lambda \sum_i \frac{1}{\text{num}_D} \sum_j \frac{4}{n}\; \text{mean}\,\lvert F_{ij}(\text{fake}) - F_{ij}(\text{real}) \rvert $$
#
# with $n$ the number of intermediate maps of a scale and $\lambda$ = `lambda_feat` = 10
# (the reference's weights). The real features are targets: **detach** them.

# %%
def feature_matching(fake_feats: list[list[torch.Tensor]], real_feats: list[list[torch.Tensor]],
                     lambda_feat: float = 10.0) -> torch.Tensor:
    """Scalar feature-matching loss between two multi-scale discriminator outputs."""
    # YOUR CODE HERE
    raise NotImplementedError("feature_matching: not written yet. Run lab05.hint('feature_matching') for a hint")


# %%
lab05.check_feature_matching(feature_matching)

# %% [markdown]
# ## Exercise 4 · Put it together: train your pix2pixHD
#
# Now assemble your three pieces into a small pix2pixHD and train it with a plain PyTorch loop (no
# library trainer). `train_pix2pixhd(scenes, steps, batch_size, seed)` gets the training scenes as
# tensors: `scenes["labels"]` and `scenes["instances"]` (N, 32, 32) integer maps and
# `scenes["target"]` the photos (N, 3, 32, 32) in [-1, 1]. It returns the trained generator, which
# maps a condition (the one-hot labels and your boundary map, `label_nc + 1` channels) to a photo.
# Build:
#
# * **G**: `pix2pixhd.GlobalGenerator(label_nc + 1, 3, ngf=16, n_downsampling=2, n_blocks=1)`
#   (G1 alone: at 32x32 the local enhancer has nothing to add); **D**: the scales of
#   `pix2pixhd.MultiscaleDiscriminator(label_nc + 1 + 3, ndf=8, n_layers=2, num_D=2)`, run through
#   *your* `multiscale_forward` (pass `list(D.scales)`); `label_nc = StreetScenes.label_nc`;
# * one Adam optimizer per network, lr 1e-3, betas (0.5, 0.999) (the paper uses 2e-4 for days of
#   training; the higher rate lets a few hundred steps suffice);
# * `steps` iterations, each on `batch_size` scenes drawn at random. The condition is
#   `torch.cat([pix2pixhd.one_hot(labels, label_nc), boundary_map(instances)], 1)` with *your*
#   boundary map, and `fake = G(condition)`. Then, in the reference's order (Wang et al., 2018,
#   `train.py`), **G's update**: the LSGAN term, the mean of `(score - 1)**2` summed over the scales'
#   scores (the last entry of each scale's output), plus *your* `feature_matching` between the
#   discriminators' outputs on (condition, fake) and on (condition, real photo); then **D's
#   update**: half the sum over scales of `mean((score_real - 1)**2) + mean(score_fake**2)`, on the
#   real pair and on the *detached* fake pair. Zero each optimizer's gradients before its backward
#   pass. Call `torch.manual_seed(seed)` first, so that a run can be repeated.
#
# There is no L1 term: pix2pixHD ties the output to its photo through feature matching alone.
# The check trains your function on 400 street scenes for 200 iterations (about 20-30 s) and
# measures the L1 error on 64 held-out scenes. It passes when your generator clearly beats the
# trivial answer "always paint the mean training photo"; the reference solution's scores over five
# seeds are printed next to yours.

# %%
def train_pix2pixhd(scenes: dict[str, torch.Tensor], steps: int, batch_size: int, seed: int) -> nn.Module:
    """Train pix2pixHD's G1 on street scenes (labels, instances -> target); return G."""
    # YOUR CODE HERE
    raise NotImplementedError("train_pix2pixhd: not written yet. Run lab05.hint('train_pix2pixhd') for a hint")


# %%
G = lab05.check_train_pix2pixhd(train_pix2pixhd)

# %% [markdown]
# Your generator on held-out scenes, next to the mean training photo (the baseline it had to
# beat) and the true photos. The second column of numbers is the error on the *seams*, the pixels
# where two objects of the same class touch (two buildings, two cars): only the boundary map tells
# the generator where they are.

# %%
train_scenes, test_scenes = lab05.street_data()
cond, y = lab05.street_condition(test_scenes), test_scenes["target"]
with torch.no_grad():
    fake = G(cond)
mean_photo = train_scenes["target"].mean(0, keepdim=True).expand_as(y)
seams = pix2pixhd.same_class_boundaries(test_scenes["labels"], test_scenes["instances"]).expand_as(y)
for name, pred in {"mean training photo": mean_photo, "your pix2pixHD": fake}.items():
    error = (pred - y).abs()
    print(f"{name:<20} L1 {error.mean():.3f}   L1 on the seams {error[seams].mean():.3f}")
fig = show_rows({"labels": label_colours(test_scenes["labels"][:8], StreetScenes.palette),
                 "boundary map": boundary_map(test_scenes["instances"][:8]).expand(-1, 3, -1, -1) * 2 - 1,
                 "your pix2pixHD": fake[:8].clamp(-1, 1), "mean photo": mean_photo[:8], "photo": y[:8]},
                value_range=(-1, 1), scale=1.8)

# %% [markdown]
# After 200 iterations the layout is there (sky, facades with rows of windows, pavement, road
# markings), and the seams between touching buildings are far closer to the truth than the mean
# photo's, but the textures are noisy and the cars have hardly appeared: lecture 05's model
# trains for 1,200 iterations at 64x64, with the local enhancer on top.

# %% [markdown]
# ## Questions
#
# 1. Why does pix2pixHD give the generator a *boundary* map rather than the instance ids
#    themselves (one channel holding 0, 1, 2, ...)?
# 2. The three discriminators have the same architecture. Why is the one at the coarsest scale
#    the one that makes the generator's output globally consistent?
#
# *Your answer here.*

# %% [markdown]
# **Graded part (question 2).** Each discriminator has a 70x70 receptive field at its own scale.
# About how many pixels per side of the full-resolution image does the coarsest of the three
# cover? Ignore the few pixels that the pooling kernels add. Return it from `question_1()`.

# %%
def question_1() -> int:
    """Pixels per side of the full-resolution image covered by the coarsest discriminator's field."""
    # YOUR CODE HERE
    raise NotImplementedError('question_1: not answered yet. Return your answer to the question above.')


# %%
lab05.check_question_1(question_1)

# %% [markdown]
# **Graded part (question 1).** An 8x8 instance map holds two touching cars of the same class:
# id 3 in columns 0-3 and id 4 in columns 4-7, on every row. How many pixels of its boundary map
# are 1? Return the number from `question_2()` (count them with your `boundary_map`; then
# renumber the cars 7 and 1 and see whether the count changes).

# %%
def question_2() -> int:
    """The number of boundary pixels of the 8x8 map of two touching cars."""
    # YOUR CODE HERE
    raise NotImplementedError('question_2: not answered yet. Return your answer to the question above.')


# %%
lab05.check_question_2(question_2)
