# %% [markdown]
# # Lab 01 · Receptive fields and dilated convolutions
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/01_receptive_fields_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/01_receptive_fields_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# You will write three functions and check each one as you go:
#
# 1. `receptive_field(layers)`: the receptive-field recurrence of lecture 01;
# 2. `dilated_stack(channels, dilations)`: a stack of 3x3 dilated convolutions that keeps the size;
# 3. `empirical_rf(model, input_size)`: measure a network's receptive field by back-propagation;
# 4. `train_hole_filler(images, mask, steps, batch_size, seed)`: design, with your dilated stack and
#    your formula, a network that sees past the border of a hole, and train it to fill the hole.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 01_receptive_fields_lab.ipynb`
# passes when every check passes).
#
# **Stuck?** `lab01.hint('receptive_field')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour. The checks run in seconds; the training of exercise 4 in about 15 s on
# a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="01_receptive_fields_lab")

# %%
import torch
from torch import nn

from course_lib.checks import lab01
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · The receptive-field recurrence
#
# A stack of layers is given as a list of `(kernel_size, stride, dilation)` tuples, from the input
# to the output. Return `(r, j)`: the receptive field of one unit of the last layer (in input
# pixels, per side) and its jump (the distance in input pixels between neighbouring units).
#
# Start from `r = 1, j = 1`. A layer with kernel `k`, stride `s` and dilation `d` adds
# `(k - 1) * d * j` to `r` (with the jump *before* this layer), then multiplies `j` by `s`.
# An empty list is the input itself: `(1, 1)`.

# %%
def receptive_field(layers: list[tuple[int, int, int]]) -> tuple[int, int]:
    """[(kernel_size, stride, dilation), ...] -> (receptive field, jump) of the last layer."""
    ### BEGIN SOLUTION
    r, j = 1, 1
    for k, s, d in layers:
        r = r + (k - 1) * d * j
        j = j * s
    return r, j
    ### END SOLUTION


# %%
lab01.check_receptive_field(receptive_field)

# %% [markdown]
# With your function: the receptive field of five 3x3 layers with dilations 1, 2, 4, 8, 16, and of
# pix2pix's 70x70 PatchGAN (4x4 kernels, strides 2, 2, 2, 1, 1).

# %%
print("dilations 1-2-4-8-16:", receptive_field([(3, 1, d) for d in (1, 2, 4, 8, 16)]))
print("PatchGAN:", receptive_field([(4, 2, 1)] * 3 + [(4, 1, 1)] * 2))

# %% [markdown]
# ## Exercise 2 · A dilated stack that keeps the size
#
# Build an `nn.Sequential` with, for each `d` in `dilations`, a 3x3 convolution from `channels`
# to `channels` channels with dilation `d`, followed by a ReLU. The output must have the same
# height and width as the input, for any input size: choose the padding accordingly.

# %%
def dilated_stack(channels: int, dilations: list[int]) -> nn.Sequential:
    """(N, channels, H, W) -> (N, channels, H, W); one 3x3 conv with dilation d + ReLU per d."""
    ### BEGIN SOLUTION
    layers = []
    for d in dilations:
        layers.append(nn.Conv2d(channels, channels, kernel_size=3, padding=d, dilation=d))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)
    ### END SOLUTION


# %%
lab01.check_dilated_stack(dilated_stack)

# %% [markdown]
# ## Exercise 3 · Measuring a receptive field
#
# Write `empirical_rf(model, input_size)`: feed a random input of shape
# `(1, C, input_size, input_size)` (C = the model's input channels, `model[0].in_channels` for the
# models used here) that requires a gradient, take the output unit at the centre of the output
# map, back-propagate from it alone, and return the height and width of the bounding box of the
# input pixels whose gradient is not zero.
#
# Two traps: back-propagating from the whole output (every unit) marks every pixel; and batch
# norm in training mode computes its statistics over all positions, so put the model in eval
# mode first.

# %%
def empirical_rf(model: nn.Module, input_size: int) -> tuple[int, int]:
    """Height and width (in input pixels) of the receptive field of the centre output unit."""
    ### BEGIN SOLUTION
    model.eval()
    channels = model[0].in_channels
    x = torch.randn(1, channels, input_size, input_size, requires_grad=True)
    out = model(x)
    h, w = out.shape[-2:]
    out[0, :, h // 2, w // 2].sum().backward()
    touched = x.grad[0].abs().sum(dim=0) > 0
    rows = torch.nonzero(touched.any(dim=1)).flatten()
    cols = torch.nonzero(touched.any(dim=0)).flatten()
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    ### END SOLUTION


# %%
lab01.check_empirical_rf(empirical_rf)

# %% [markdown]
# ## Putting it together
#
# Your stack, your formula and your measurement should agree. (A ReLU can switch off a path for
# one random input, so measure a copy whose ReLUs leak a little.)

# %%
stack = dilated_stack(4, [1, 2, 4, 8])
leaky = nn.Sequential(*[nn.LeakyReLU(0.1) if isinstance(m, nn.ReLU) else m for m in stack])
formula = receptive_field([(3, 1, d) for d in (1, 2, 4, 8)])[0]
measured = empirical_rf(leaky, 64)
print(f"formula: {formula} px, measured: {measured}")
assert measured == (formula, formula)

# %% [markdown]
# ## Exercise 4 · A network that sees past the hole
#
# Lecture 01 (section 4) trained two networks to fill a hole and found that a pixel whose receptive
# field does not reach a known pixel can only guess. Now you design one. The data are the
# lecture's smooth colour fields (a colour plus two ramps), 32x32 pixels, with a 16x16 hole in the
# middle: the hole's centre is 8 pixels from the nearest known pixel.
#
# Write `train_hole_filler(images, mask, steps, batch_size, seed)`:
#
# * `images` is `(N, 3, 32, 32)` in $[-1, 1]$, `mask` is `(1, 1, 32, 32)`, 1 inside the hole;
# * build a network that maps `(B, 4, H, W)`, the image with its hole set to zero and the mask as a
#   fourth channel, to the image `(B, 3, H, W)`: a 1x1 convolution from 4 to some channels and a
#   ReLU, **your** `dilated_stack`, a 1x1 convolution to 3 channels. Choose the dilations with
#   **your** `receptive_field` so that the field is at least $2 \cdot 8 + 1 = 17$ pixels;
# * train it for `steps` steps (call `torch.manual_seed(seed)` first): draw `batch_size` images at
#   random, zero their hole, and minimise the mean squared error *inside the hole* with Adam
#   (a learning rate of about 2e-3);
# * return the network.
#
# The check trains your function on its own data and scores the filled holes of held-out images:
# their mean squared error must be below that of the trivial fill, the mean known colour of each
# image.

# %%
def train_hole_filler(images: torch.Tensor, mask: torch.Tensor, steps: int, batch_size: int,
                      seed: int) -> nn.Module:
    """Train a network (B, 4, H, W) [image with hole zeroed, mask] -> (B, 3, H, W) to fill the hole."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    dilations = [1, 2, 4, 8]
    # 1x1 in, the 3x3 dilated convs, 1x1 out: only the 3x3 convs widen the field
    field, _ = receptive_field([(1, 1, 1)] + [(3, 1, d) for d in dilations] + [(1, 1, 1)])
    assert field >= 17, f"receptive field {field} px: the hole's centre would not see a known pixel"
    net = nn.Sequential(nn.Conv2d(4, 16, 1), nn.ReLU(), dilated_stack(16, dilations), nn.Conv2d(16, 3, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    m = mask.expand(batch_size, 1, *images.shape[-2:])
    for _ in range(steps):
        x = images[torch.randint(len(images), (batch_size,))]
        out = net(torch.cat([x * (1 - m), m], dim=1))
        loss = ((out - x) ** 2 * m).sum() / (3 * m.sum())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net
    ### END SOLUTION


# %%
filler = lab01.check_train_hole_filler(train_hole_filler)

# %% [markdown]
# Your network's holes next to the trivial fill, on held-out images (the mean squared errors are
# the check's, over all 128 held-out images):

# %%
_, test_images, hole_mask = lab01.hole_data(0)
shown = test_images[:6]
with torch.no_grad():
    out = filler(torch.cat([shown * (1 - hole_mask), hole_mask.expand(len(shown), 1, 32, 32)], dim=1))
fig = show_rows({"input": shown * (1 - hole_mask), "mean colour": lab01.mean_fill(shown, hole_mask),
                 "your network": shown * (1 - hole_mask) + out.clamp(-1, 1) * hole_mask, "truth": shown},
                value_range=(-1, 1))

# %% [markdown]
# ## Question
#
# A hole of 64x64 pixels sits in the middle of a 256x256 image. What is the smallest receptive
# field that lets the network's output at the hole's centre depend on a known pixel? How many
# plain 3x3 layers is that, and how many 3x3 layers with dilations doubling from 1?
#
# <!-- BEGIN SOLUTION -->
# The centre pixel is 32 pixels from the nearest known pixel (the border is 32 pixels away in
# each direction), so the field must reach 32 pixels beyond the centre: $r \ge 2 \cdot 32 + 1 = 65$.
# Plain 3x3 layers give $2n + 1$, so $n = 32$ layers. Doubling dilations give $2^{n+1} - 1$:
# five layers reach 63 (not enough), six reach 127.
# <!-- END SOLUTION -->

# %% [markdown]
# **Graded part.** Return from `question_1()` the smallest number of 3x3 layers with dilations
# 1, 2, 4, 8, ... (doubling from 1, stride 1) that lets the output at the hole's centre depend on a
# known pixel. Your `receptive_field` can do the counting. The answer to the rest of the question,
# in words, goes in the cell above (read by your teacher).

# %%
def question_1() -> int:
    """Fewest 3x3 layers with dilations 1, 2, 4, ... whose field at the hole's centre reaches a known pixel."""
    ### BEGIN SOLUTION
    needed = 2 * 32 + 1  # the nearest known pixel is 32 pixels from the centre, on each side
    n = 1
    while receptive_field([(3, 1, 2**i) for i in range(n)])[0] < needed:
        n += 1
    return n
    ### END SOLUTION


# %%
lab01.check_question_1(question_1)
