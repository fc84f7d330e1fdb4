# %% [markdown]
# # Lab 09 · Global & Local: the dilated block, the completion output, the local discriminator's crop
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/09_global_local_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/09_global_local_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# You will write three pieces of *Globally and Locally Consistent Image Completion* (Iizuka et al.,
# SIGGRAPH 2017) and check each one as you go:
#
# 1. `dilated_block(channels)`: the four dilated convolutions in the middle of the completion
#    network (Table 1), which give it its large receptive field;
# 2. `complete(raw, image, mask)`: the network's output, with the pixels outside the hole
#    replaced by the input;
# 3. `local_crop(images, mask, size)`: the input of the local discriminator, a crop centred on the
#    hole and kept inside the image;
# 4. `train_completion(images, masks, steps, batch_size, seed)`: the first training phase of the
#    paper, a small completion network built around **your** dilated block, its output through
#    **your** `complete`, graded by how well it fills held-out holes compared with the mean colour.
#
# Then you put your block in the course's full-size network and look at what the local
# discriminator would see of your network's completions.
#
# **Conventions.** Images are (N, C, H, W) tensors in [-1, 1]; masks (N, 1, H, W) with **1 = hole**.
# Do not edit the check cells: they are also how the lab is graded
# (`pytest --nbval-lax 09_global_local_lab.ipynb`).
#
# **Stuck?** `lab09.hint('dilated_block')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour; the training of exercise 4 takes under a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="09_global_local_lab")

# %%
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch import nn

from course_lib.checks import lab09
from course_lib.inpainting.blending import mean_fill
from course_lib.inpainting.global_local import CompletionNetwork, ContextDiscriminator
from course_lib.receptive_field import layers_from_module, receptive_field
from course_lib.viz import show_rows, to_numpy_image

# %% [markdown]
# ## Exercise 1 · The dilated block
#
# In the middle of the completion network, at a quarter of the input resolution, four 3x3
# convolutions with dilations 2, 4, 8 and 16 keep the resolution and grow the receptive field by
# 2 x (2 + 4 + 8 + 16) = 60 pixels (of the quarter-resolution map) without a single extra weight
# per layer (lecture 01). As everywhere in the completion network except its last layer, each
# convolution is followed by batch normalisation and a ReLU.
#
# Return an `nn.Sequential` with, for each `d` in `(2, 4, 8, 16)`: a 3x3 convolution from
# `channels` to `channels` with dilation `d` and the padding that keeps the size, an
# `nn.BatchNorm2d(channels)` and an `nn.ReLU()`.

# %%
def dilated_block(channels: int) -> nn.Sequential:
    """(N, channels, H, W) -> (N, channels, H, W): Table 1's dilated convolutions with BN and ReLU."""
    ### BEGIN SOLUTION
    layers = []
    for d in (2, 4, 8, 16):
        layers += [nn.Conv2d(channels, channels, kernel_size=3, padding=d, dilation=d),
                   nn.BatchNorm2d(channels), nn.ReLU()]
    return nn.Sequential(*layers)
    ### END SOLUTION


# %%
lab09.check_dilated_block(dilated_block)

# %% [markdown]
# ## Exercise 2 · The completion network's output
#
# The last layer of the completion network is a sigmoid: its `raw` output is in [0, 1], while the
# course's images are in [-1, 1]. Only the hole is the network's to paint: "pixels outside the
# hole are replaced by the input". Return the completed image in [-1, 1].

# %%
def complete(raw: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """raw (N, 3, H, W) in [0, 1], image in [-1, 1], mask 1 = hole -> completed image in [-1, 1]."""
    ### BEGIN SOLUTION
    prediction = raw * 2 - 1
    return image * (1 - mask) + prediction * mask
    ### END SOLUTION


# %%
lab09.check_complete(complete)

# %% [markdown]
# ## Exercise 3 · The local discriminator's input
#
# The local discriminator judges a crop of half the image's side, **centred on the completed
# region**. For each image of the batch:
#
# 1. find the first and last rows that contain a hole pixel, `first` and `last`; the centre row is
#    `(first + last + 1) // 2`;
# 2. the crop starts `size // 2` rows above the centre, `top = centre - size // 2`, but must stay
#    inside the image: clamp `top` to `[0, H - size]`;
# 3. the same for the columns (`left`, clamped to `[0, W - size]`);
# 4. crop `images[i, :, top:top + size, left:left + size]`.
#
# Return the (N, C, size, size) stack of crops. (Real images have no hole; the paper feeds the
# local discriminator a random crop of them instead.)

# %%
def local_crop(images: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) images, (N, 1, H, W) masks -> (N, C, size, size) crops centred on each hole."""
    ### BEGIN SOLUTION
    h, w = images.shape[-2:]
    crops = []
    for i in range(images.shape[0]):
        rows = torch.nonzero(mask[i, 0].amax(dim=1) > 0.5).flatten()
        cols = torch.nonzero(mask[i, 0].amax(dim=0) > 0.5).flatten()
        top = (int(rows[0]) + int(rows[-1]) + 1) // 2 - size // 2
        left = (int(cols[0]) + int(cols[-1]) + 1) // 2 - size // 2
        top = min(max(top, 0), h - size)
        left = min(max(left, 0), w - size)
        crops.append(images[i, :, top:top + size, left:left + size])
    return torch.stack(crops)
    ### END SOLUTION


# %%
lab09.check_local_crop(local_crop)

# %% [markdown]
# ## Exercise 4 · Train the completion network (phase 1)
#
# Iizuka et al. train in three phases (Sec. 3.3): first the completion network alone with the
# squared error on the hole, then the discriminators alone, then both together (the squared error
# plus a small GAN term). Phase 1 is plain supervised learning, and it is what teaches the network
# to continue the surroundings into the hole; the GAN phases then make the result sharper. You
# run phase 1 here, on a small scale, with your pieces.
#
# `lab09.SmallCompletionNet(dilated_block)` is a 32 px miniature of Table 1 built around the
# block you pass it (your exercise 1): a 5x5 convolution, a stride-2 convolution, **your dilated
# block** at half resolution, a convolution, a stride-2 transposed convolution back up and a 3x3
# output layer with a sigmoid (batch norm and ReLU after every layer but the last). Its input is
# the paper's: the image with the hole blanked and the mask as a fourth channel, (N, 4, H, W);
# its output `raw` is in [0, 1]. Write `train_completion(images, masks, steps, batch_size, seed)`:
#
# * `images` (N, 3, 32, 32) in [-1, 1], `masks` (N, 1, 32, 32) with 1 = hole (Global & Local's
#   rectangles: 12-16 px sides at this size);
# * after `torch.manual_seed(seed)` build `lab09.SmallCompletionNet(dilated_block)` with **your**
#   `dilated_block`, and Adam with learning rate 2e-3 (the paper uses ADADELTA);
# * each of `steps` iterations: draw `batch_size` random images and masks (a `torch.Generator`
#   seeded with `seed`); feed `torch.cat([image * (1 - mask), mask], dim=1)` (the hole set to 0,
#   the middle of [-1, 1]; the paper fills it with the training set's mean pixel); pass `raw`
#   through **your** `complete`; minimise the paper's weighted MSE
#   $\lVert M_c \odot (C(x, M_c) - x)\rVert^2$, divided by the number of hole values
#   (`3 * mask.sum()`) so that it does not depend on the hole's size;
# * return the network.
#
# The grader trains on 512 smooth images of its own (colour ramps and gentle waves, whose hole
# content *can* be inferred from the surroundings) for 300 updates of batch 16, then fills 64
# held-out holes with `net(torch.cat([image * (1 - mask), mask], 1))` in eval mode and compares
# the hole's L1 with the mean colour's. What this simplifies: the paper trains a 17-layer network
# (64-256 channels) on Places2 photos for 90,000 phase-1 iterations of batch 96; ours has 9
# layers of 16-32 channels and trains for about half a minute, and the two GAN phases (where your
# `local_crop` feeds the local discriminator) are left out.

# %%
def train_completion(images: torch.Tensor, masks: torch.Tensor, steps: int, batch_size: int, seed: int) -> nn.Module:
    """Phase 1 of Global & Local: train lab09.SmallCompletionNet(dilated_block) with the hole's MSE."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    net = lab09.SmallCompletionNet(dilated_block)
    optimizer = torch.optim.Adam(net.parameters(), 2e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        i = torch.randint(len(images), (batch_size,), generator=generator)
        image, mask = images[i], masks[i]
        raw = net(torch.cat([image * (1 - mask), mask], dim=1))
        completed = complete(raw, image, mask)
        loss = ((mask * (completed - image)) ** 2).sum() / (3 * mask.sum())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net
    ### END SOLUTION


# %%
completion_net = lab09.check_train_completion(train_completion)

# %% [markdown]
# Your network's completions of held-out holes, next to the mean colour the check compared them with:

# %%
test = lab09.completion_test()
mean_filled = mean_fill(test["image"] * (1 - test["mask"]), test["mask"])
with torch.no_grad():
    your_fills = lab09.completion_fill(completion_net)(test["image"] * (1 - test["mask"]), test["mask"])
fig = show_rows({"input": test["image"][:8] * (1 - test["mask"][:8]), "mean colour": mean_filled[:8],
                 "your network": your_fills[:8].clamp(-1, 1), "truth": test["image"][:8]}, value_range=(-1, 1))

# %% [markdown]
# The fills follow the ramps and waves into the hole where the mean colour cannot, but they are
# blotchy (the checkerboard of a transposed convolution that has trained for half a minute) and
# the hole's border still shows: the squared error rewards the average of the plausible fills,
# not a sharp one. That is what the paper's two GAN phases add (the global and local
# discriminators), and its post-processing (Poisson blending, Sec. 3.4) hides what seam remains.

# %% [markdown]
# ## Putting it together
#
# **Your block in the real network.** The course's `CompletionNetwork` follows Table 1; its layers
# 7-10 (each conv, BN, ReLU) are the dilated block. With the paper's widths (256 channels there),
# your block has exactly as many parameters, and the network's analytic receptive field is about
# 300 px (lecture 01).

# %%
net = CompletionNetwork(width=64)
paper_block = net.net[18:30]  # layers 7-10 of Table 1: (conv, BN, ReLU) x 4
yours = dilated_block(256)
count = lambda m: sum(p.numel() for p in m.parameters())
print(f"parameters: your block {count(yours):,}, the course's layers 7-10 {count(paper_block):,}, "
      f"the whole completion network {count(net):,}")
print("dilations in the course's block:", [m.dilation[0] for m in paper_block if isinstance(m, nn.Conv2d)])
print(f"receptive field of your block alone: {receptive_field(layers_from_module(yours)).size:g} px, "
      f"of the whole network: {receptive_field(layers_from_module(net)).size:g} px")

# %% [markdown]
# **What the local discriminator sees.** Your network's completions of the held-out images above,
# the local crop (half the side) drawn in cyan, then your `local_crop` of them: in phases 2 and 3
# this crop is what the local discriminator judges, and its gradient would push the completion
# network to make exactly this region look real.

# %%
SIZE = lab09.SIZE
filled, holes = your_fills[:6], test["mask"][:6]
crops = local_crop(filled, holes, SIZE // 2)
fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for i in range(6):
    axes[0, i].imshow(to_numpy_image(filled[i].clamp(-1, 1), (-1, 1)))
    rows = torch.nonzero(holes[i, 0].amax(1) > 0.5).flatten()
    cols = torch.nonzero(holes[i, 0].amax(0) > 0.5).flatten()
    top = min(max((int(rows[0]) + int(rows[-1]) + 1) // 2 - SIZE // 4, 0), SIZE // 2)
    left = min(max((int(cols[0]) + int(cols[-1]) + 1) // 2 - SIZE // 4, 0), SIZE // 2)
    axes[0, i].add_patch(Rectangle((left - 0.5, top - 0.5), SIZE // 2, SIZE // 2, fill=False, color="cyan", lw=2))
    axes[1, i].imshow(to_numpy_image(crops[i].clamp(-1, 1), (-1, 1)))
    for ax in axes[:, i]:
        ax.axis("off")
axes[0, 0].set_title("completed image + local box", fontsize=9, loc="left")
axes[1, 0].set_title("the local discriminator's input", fontsize=9, loc="left")
fig.tight_layout()

# %% [markdown]
# With holes of 3/8 to 1/2 of the side and a crop of half the side (96-128 px holes, 128 px crops in
# the paper), the local view is mostly the filled region plus a thin band of context: exactly where
# a seam or a wrong texture shows. The context discriminator runs both views and fuses them: the global branch sees the whole image
# (is the scene coherent?), the local branch the crop at twice the relative resolution (is the
# filled region's texture right?).

# %%
disc = ContextDiscriminator(global_size=SIZE, local_size=SIZE // 2, width=16)
with torch.no_grad():
    logits = disc(filled, crops)
print(f"logits for {tuple(filled.shape)} images and {tuple(crops.shape)} crops: {tuple(logits.shape)}")

# %% [markdown]
# **Question.** Why does the paper give the local discriminator a *random* crop of the real images
# rather than the crop around the hole's position in the original image? And why can a hole near
# the border (a clamped crop) be harder to complete well?
#
# <!-- BEGIN SOLUTION -->
# Real images have no completed region, so any crop of them is an example of "real local
# texture"; a random crop gives more variety, and since the discriminator cannot see where a crop
# came from, it learns nothing from the position either way (using the hole's box also works and
# is what many re-implementations do). Near the border a hole has context on fewer sides: the
# completion network has less to continue from, and the clamped crop is no longer centred on the
# hole, so part of the local discriminator's view is context rather than completion. The paper
# lists holes at the image border among its failure cases (Iizuka et al. 2017, discussion of limitations).
# <!-- END SOLUTION -->

# %% [markdown]
# **Graded part.** A 128x128 image has a hole covering rows 0 to 15 (it touches the top border).
# Your `local_crop` cuts a 64x64 crop around it. At which row of the crop does the hole's centre
# (row 8 of the image) land? Return it from `question_1()` (compute it with your `local_crop`, or
# reason it out).

# %%
def question_1() -> int:
    """The row of the 64x64 local crop at which the centre of a hole on rows 0-15 lands."""
    ### BEGIN SOLUTION
    rows = torch.arange(128.0).view(1, 1, 128, 1).expand(1, 1, 128, 128)  # each pixel holds its row
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 0:16, 56:72] = 1
    top = int(local_crop(rows, mask, 64)[0, 0, 0, 0])  # the image row where the crop starts
    return 8 - top
    ### END SOLUTION


# %%
lab09.check_question_1(question_1)
