# %% [markdown]
# # Lab 05 · pix2pixHD: boundary maps, multi-scale discriminators, feature matching
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/main/labs/05_pix2pixhd_lab.ipynb)

# %% [markdown]
# pix2pixHD (Wang et al., CVPR 2018) turns label maps into 2048x1024 photos. You will write three
# of its pieces and check each one:
#
# 1. `boundary_map(instances)`: where one object ends and the next begins;
# 2. `multiscale_forward(discriminators, x)`: the same discriminator design at three scales;
# 3. `feature_matching(fake_feats, real_feats)`: the loss that matches the discriminators'
#    intermediate features of real and generated images.
#
# Then your pieces replace the library's in a real pix2pixHD discriminator and loss.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 05_pix2pixhd_lab.ipynb`).
#
# **Stuck?** `lab05.hint('boundary_map')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about 45 minutes; everything runs in seconds on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="05_pix2pixhd_lab")

# %%
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import lab05
from course_lib.data.paired import StreetScenes, label_colours
from course_lib.losses import feature_matching_loss
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
# ## Putting it together
#
# One generator step of pix2pixHD on a street scene, with your three functions in place of the
# library's: the condition is the one-hot label map plus your boundary map, the discriminator is
# your multi-scale forward pass, and the loss adds your feature matching to the LSGAN term.

# %%
torch.manual_seed(0)
task = pix2pixhd.Pix2PixHDTask(StreetScenes.label_nc, ngf=4, n_downsample_global=2, n_blocks_global=1,
                               n_blocks_local=1, ndf=8, num_D=3, vgg=False)
cond = torch.cat([pix2pixhd.one_hot(batch["labels"], StreetScenes.label_nc), boundary_map(batch["instances"])], 1)
fake = task.G(cond)
pred_fake = multiscale_forward(list(task.D.scales), torch.cat([cond, fake], 1))
pred_real = multiscale_forward(list(task.D.scales), torch.cat([cond, batch["target"]], 1))
mine = feature_matching(pred_fake, pred_real)
library = feature_matching_loss(task.D(torch.cat([cond, fake], 1)), task.D(torch.cat([cond, batch["target"]], 1)))
gan = sum(((p[-1] - 1) ** 2).mean() for p in pred_fake)  # LSGAN, G's side
print(f"G's loss: LSGAN {float(gan.detach()):.4f} + feature matching {float(mine.detach()):.4f} "
      f"(the library computes {float(library.detach()):.4f})")
assert torch.allclose(cond, task.condition(batch)) and torch.isclose(mine, library)

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
