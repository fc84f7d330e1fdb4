# %% [markdown]
# # Lab 10 · Partial convolution, gated convolution, free-form masks, contextual attention
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/labs/10_partial_conv_deepfill_lab.ipynb)

# %% [markdown]
# You will write the four small pieces that lecture 10 builds on, and check each one as you go:
#
# 1. `partial_conv(x, valid, weight, bias)`: the masked, renormalised convolution of Liu et al.
#    2018 and its mask update;
# 2. `gated_conv(x, weight, bias, dilation)`: DeepFill v2's gated convolution;
# 3. `stroke_vertices(start, angles, lengths, size)`: the zig-zag polyline of one free-form brush
#    stroke, as DeepFill v2's release draws it; you then turn strokes into masks and measure their
#    hole ratio;
# 4. `attention_scores(features, hole)`: the matching step of contextual attention;
# 5. `train_pconv(images, masks, steps, batch_size, seed)`: a small network made of **your** partial
#    convolutions, trained with the masked L1 loss of Liu et al. and graded by how well it fills
#    held-out holes compared with the mean colour.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded.
#
# **Stuck?** `lab10.hint('partial_conv')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about 90 minutes. Everything runs on a laptop CPU: seconds, except exercise 5's
# training (about half a minute).

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="10_partial_conv_deepfill_lab")

# %%
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from course_lib.checks import lab10
from course_lib.inpainting.contextual_attention import extract_patches
from course_lib.viz import show_images, show_rows

# %% [markdown]
# ## Exercise 1 · Partial convolution
#
# Partial convolution (PConv) uses the paper's mask convention: `valid` is **1 where the pixel is
# known** and 0 in the hole (the opposite of the course's hole masks). At a window with inputs `X`
# and validity `M` (Liu et al. 2018, Eq. 1-2):
#
# $$x' = \begin{cases} W^T (X \odot M)\,\frac{\mathrm{sum}(\mathbf 1)}{\mathrm{sum}(M)} + b & \text{if } \mathrm{sum}(M) > 0\\ 0 & \text{otherwise}\end{cases}
# \qquad m' = \begin{cases}1 & \text{if } \mathrm{sum}(M) > 0\\ 0 & \text{otherwise}\end{cases}$$
#
# `sum(1)` is the window size `k * k` (the zero padding outside the image counts as invalid, so
# border windows are renormalised too) and `sum(M)` the number of valid pixels in it.
#
# Write `partial_conv(x, valid, weight, bias)` for stride 1 and 'same' padding `k // 2`:
# `x` (N, C_in, H, W), `valid` (N, 1, H, W), `weight` (C_out, C_in, k, k), `bias` (C_out,).
# Return `(out, new_valid)` with shapes (N, C_out, H, W) and (N, 1, H, W). Windows with no valid
# pixel output exactly 0, bias included.

# %%
def partial_conv(x: torch.Tensor, valid: torch.Tensor, weight: torch.Tensor,
                 bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial convolution (stride 1, padding k // 2) and the updated mask; valid: 1 = known."""
    # YOUR CODE HERE
    raise NotImplementedError("partial_conv: not written yet. Run lab10.hint('partial_conv') for a hint")


# %%
lab10.check_partial_conv(partial_conv)

# %% [markdown]
# Two consequences of the formula, on your function. First: the output does not depend on what the
# hole contains. Second: the hole shrinks by the kernel radius at every layer, so after a few
# layers every position is "valid", whatever the hole's size.

# %%
torch.manual_seed(0)
x = torch.randn(1, 2, 16, 16)
valid = torch.ones(1, 1, 16, 16)
valid[..., 3:13, 4:12] = 0
w, b = torch.randn(3, 2, 3, 3), torch.randn(3)
out_a, _ = partial_conv(x, valid, w, b)
out_b, _ = partial_conv(x + 100 * (1 - valid), valid, w, b)  # junk in the hole
print("largest change when the hole holds junk:", float((out_a - out_b).abs().max()))
m = valid
for layer in range(1, 6):
    _, m = partial_conv(torch.zeros(1, 1, 16, 16), m, torch.zeros(1, 1, 3, 3), torch.zeros(1))
    print(f"after layer {layer}: {int((m == 0).sum())} invalid positions")

# %% [markdown]
# **Question.** A window with 1 valid pixel and a window with 9 valid pixels both produce a fully
# valid output position. Why is that a problem, and what does gated convolution do instead?

# %% [markdown]
# *Your answer here.*

# %% [markdown]
# **Graded part.** By what factor does a partial convolution multiply the raw convolution of a
# 3x3 window that holds a single valid pixel? Return it from `question_1()` (compute it with your
# `partial_conv`, or reason it out).

# %%
def question_1() -> float:
    """The rescaling factor of a 3x3 partial convolution window with one valid pixel."""
    # YOUR CODE HERE
    raise NotImplementedError('question_1: not answered yet. Return your answer to the question above.')


# %%
lab10.check_question_1(question_1)


# %% [markdown]
# ## Exercise 2 · Gated convolution
#
# DeepFill v2 (Yu et al. 2019) lets the network learn its mask: one convolution produces `2C`
# channels, the first `C` are features and the last `C` gates, and the output is
#
# $$\mathrm{ELU}(\text{features}) \cdot \sigma(\text{gates}).$$
#
# Write `gated_conv(x, weight, bias, dilation)` with `weight` (2C, C_in, k, k), stride 1 and
# 'same' padding `dilation * (k - 1) // 2`. Keep it differentiable (the check compares gradients).

# %%
def gated_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, dilation: int = 1) -> torch.Tensor:
    """(N, C_in, H, W) -> (N, C, H, W): ELU(features) * sigmoid(gates), features first."""
    # YOUR CODE HERE
    raise NotImplementedError("gated_conv: not written yet. Run lab10.hint('gated_conv') for a hint")


# %%
lab10.check_gated_conv(gated_conv)

# %% [markdown]
# The gate is a soft, per-channel mask: look at its range on a random input, and at the price:
# twice the parameters of a plain convolution with the same output.

# %%
wg = torch.randn(8, 3, 3, 3) / 3
raw = F.conv2d(torch.randn(1, 3, 16, 16), wg, padding=1)
gates = torch.sigmoid(raw[:, 4:])
print(f"gates in ({float(gates.min()):.3f}, {float(gates.max()):.3f}); "
      f"{wg.numel()} weights for 4 output channels (a plain conv needs {wg.numel() // 2})")

# %% [markdown]
# ## Exercise 3 · Free-form masks
#
# DeepFill v2 trains on random brush strokes. Its release draws each stroke as a polyline of 4 to
# 11 segments from a random start; segment `i` has a random length and a random angle `a_i` near
# 2*pi/5 (72 degrees), and the direction **alternates**: even segments go along `2*pi - a_i`, odd
# ones along `a_i`, which makes zig-zags instead of circles. Each vertex is clipped to the image.
#
# Write `stroke_vertices(start, angles, lengths, size)`: `start = (x, y)`, `size = (H, W)`.
# Return the list of `len(angles) + 1` vertices `(x, y)`: start with `start`, then for each segment
# step from the last vertex by `length * (cos a, sin a)`, clip x to `[0, W]` and y to `[0, H]`,
# and convert both to `int` (truncation, as the release does).

# %%
def stroke_vertices(start: tuple[int, int], angles: list[float], lengths: list[float],
                    size: tuple[int, int]) -> list[tuple[int, int]]:
    """The vertices of one zig-zag brush stroke, (x, y) integer pairs."""
    # YOUR CODE HERE
    raise NotImplementedError("stroke_vertices: not written yet. Run lab10.hint('stroke_vertices') for a hint")


# %%
lab10.check_stroke_vertices(stroke_vertices)

# %% [markdown]
# Now draw masks with your vertices, with the release's other parameters: 1 to 3 strokes, segment
# lengths from a normal distribution with mean `r = sqrt(H^2 + W^2) / 8` and standard deviation
# `r // 2` (clipped to `[0, 2r]`), brush widths from 12 to 40 pixels, round joints. The function
# below is given; it only calls yours.

# %%
def my_free_form_mask(size: int, rng: np.random.Generator) -> torch.Tensor:
    """(1, size, size) brush-stroke mask, 1 = hole, drawn with stroke_vertices."""
    r = math.sqrt(2) * size / 8
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(4, 12))
        lo, hi = 2 * math.pi / 5 - rng.uniform(0, 2 * math.pi / 15), 2 * math.pi / 5 + rng.uniform(0, 2 * math.pi / 15)
        angles = [rng.uniform(lo, hi) for _ in range(n)]
        start = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        lengths = [float(np.clip(rng.normal(r, r // 2), 0, 2 * r)) for _ in range(n)]
        vertices = stroke_vertices(start, angles, lengths, (size, size))
        width = int(rng.uniform(12, 40) * size / 256)
        draw.line(vertices, fill=1, width=width)
        for vx, vy in vertices:
            draw.ellipse((vx - width // 2, vy - width // 2, vx + width // 2, vy + width // 2), fill=1)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32))[None]


masks = torch.stack([my_free_form_mask(256, np.random.default_rng(i)) for i in range(300)])
ratios = masks.flatten(1).mean(1)
print(f"mean hole ratio of 300 of your masks at 256x256: {float(ratios.mean()):.3f} "
      f"(std {float(ratios.std()):.3f})")
fig = show_images(1 - masks[:8], value_range=(0, 1), ncols=8, titles=[f"{float(r):.0%}" for r in ratios[:8]])

# %% [markdown]
# **Question.** `course_lib.inpainting.freeform.MEASURED_HOLE_RATIO_256` records the mean hole ratio
# measured with 20,000 masks of the library's generator. How close is yours, and is the
# difference within what 300 samples can resolve (standard error = std / sqrt(300))?

# %% [markdown]
# *Your answer here.*

# %%
from course_lib.inpainting.freeform import MEASURED_HOLE_RATIO_256

standard_error = float(ratios.std()) / math.sqrt(len(ratios))
print(f"library: {MEASURED_HOLE_RATIO_256['strokes']:.3f}; yours: {float(ratios.mean()):.3f} "
      f"+- {2 * standard_error:.3f} (2 standard errors)")
assert abs(float(ratios.mean()) - MEASURED_HOLE_RATIO_256["strokes"]) < 3 * standard_error + 0.005

# %% [markdown]
# ## Exercise 4 · Contextual-attention scores
#
# Contextual attention (DeepFill v1, reused in v2) fills a hole by copying features from the known
# part of the same map. Its matching step, for one feature map `features` (C, H, W) and its
# `hole` (1, H, W) (1 = hole):
#
# 1. cut the map into 3x3 patches, one centred at every position (zero padding at the border):
#    `extract_patches(features[None], 3)[0]` gives them as an (H*W, C, 3, 3) tensor, patch
#    `l` centred at `(l // W, l % W)`;
# 2. divide every patch by its norm (clamped to at least 1e-4) and use the patches as convolution
#    kernels on `features` (padding 1): `scores[l, y, x]` is then the similarity between the
#    patch at `(y, x)` and background patch `l`, shape (H*W, H, W);
# 3. a patch is *usable* if none of its 9 pixels is in the hole (use `extract_patches` on the hole);
#    multiply the scores by the usable mask, take the softmax of `softmax_scale * scores` over the
#    patches (dim 0), and multiply by the usable mask again (as the release does: unusable patches
#    get exactly zero weight).

# %%
def attention_scores(features: torch.Tensor, hole: torch.Tensor, softmax_scale: float = 10.0) -> torch.Tensor:
    """(C, H, W) features, (1, H, W) hole -> (H*W, H, W) attention weights of the background patches."""
    # YOUR CODE HERE
    raise NotImplementedError("attention_scores: not written yet. Run lab10.hint('attention_scores') for a hint")


# %%
lab10.check_attention_scores(attention_scores)

# %% [markdown]
# Use your scores to fill a hole. The image below is a stripe pattern, so the known region holds an
# exact copy of every missing patch. As the "foreground" (what a coarse network would predict) we
# take the truth plus noise; the attention, made sharp with a large scale, still finds the right
# background patches, and pasting their centre pixels restores the hole exactly.

# %%
g = torch.Generator().manual_seed(0)
tile = torch.rand(3, 1, 6, generator=g)
image = tile.repeat(1, 24, 4)  # (3, 24, 24): vertical stripes, period 6
hole = torch.zeros(1, 24, 24)
hole[:, 8:16, 7:17] = 1
noisy = image + 0.1 * torch.randn(image.shape, generator=g)
foreground = image * (1 - hole) + noisy * hole
att = attention_scores(foreground, hole, softmax_scale=1000.0)
centres = image.flatten(1)  # (3, H*W): the centre pixel of every patch l
filled = torch.einsum("cl,lyx->cyx", centres, att)
completed = image * (1 - hole) + filled * hole
print("largest error in the hole:", float(((completed - image) * hole).abs().max()),
      "| noisy guess:", float(((foreground - image) * hole).abs().max()))
assert float(((completed - image) * hole).abs().max()) < 1e-3
fig = show_images([image * (1 - hole), foreground.clamp(0, 1), completed, image], value_range=(0, 1),
                  titles=["input (hole = black)", "noisy guess in the hole", "pasted by attention", "truth"])

# %% [markdown]
# **Question.** Why does DeepFill divide the background patches by their norm but not the
# foreground patch?

# %% [markdown]
# *Your answer here.*

# %% [markdown]
# **Graded part.** If the foreground patch were divided by its norm too, what would change in the
# softmax over the background patches at one position? Return one letter from `question_2()`
# (you may try it: divide your scores' input by a constant and compare):
#
# * **A** nothing at all;
# * **B** which background patch gets the largest weight;
# * **C** only how peaked the weights are (the softmax's temperature), not their order.

# %%
def question_2() -> str:
    """One letter: A, B or C."""
    # YOUR CODE HERE
    raise NotImplementedError('question_2: not answered yet. Return your answer to the question above.')


# %%
lab10.check_question_2(question_2)

# %% [markdown]
# ## Exercise 5 · Train a network of your partial convolutions
#
# `lab10.PConvNet(partial_conv)` stacks five partial convolutions computed by the function you pass
# it (your exercise 1): 3 -> 16 -> 16 -> 16 -> 16 -> 3 channels, kernels 5, 5, 5, 5, 3, ReLU in
# between, the validity mask updated by every layer. `net(x, valid)` takes the image with its hole
# zeroed and `valid` = 1 on known pixels, and predicts every pixel. Write
# `train_pconv(images, masks, steps, batch_size, seed)`:
#
# * `images` (N, 3, 32, 32) in [-1, 1], `masks` (N, 1, 32, 32) with **1 = hole** (the course's
#   convention: the network wants the opposite), one rectangle of 6-10 px sides per image;
# * after `torch.manual_seed(seed)` build `lab10.PConvNet(partial_conv)` with **your**
#   `partial_conv`, and Adam with learning rate 2e-3;
# * each of `steps` iterations: draw `batch_size` random images and masks (a `torch.Generator`
#   seeded with `seed`), predict, and minimise the two pixel terms of Liu et al.'s loss (Sec. 3.4):
#   `6 * L_hole + L_valid`, where `L_hole` is the mean over all values of `|mask * (out - image)|`
#   and `L_valid` the same with `1 - mask` (the perceptual and style terms need VGG: left out);
# * return the network.
#
# The grader trains on its own crops (250 updates, about half a minute), then fills held-out holes
# with `net(image * (1 - mask), 1 - mask)` and compares the hole's L1 with the mean colour's.

# %%
def train_pconv(images: torch.Tensor, masks: torch.Tensor, steps: int, batch_size: int, seed: int) -> torch.nn.Module:
    """Train lab10.PConvNet(partial_conv) with 6 L_hole + L_valid; return it."""
    # YOUR CODE HERE
    raise NotImplementedError("train_pconv: not written yet. Run lab10.hint('train_pconv') for a hint")


# %%
pconv_net = lab10.check_train_pconv(train_pconv)

# %% [markdown]
# Your network's fills of the held-out holes the check scored, next to the mean colour:

# %%
pc_test = lab10.pconv_test(0)
pc_masked = pc_test["image"] * (1 - pc_test["mask"])
with torch.no_grad():
    pc_out = pconv_net(pc_masked, 1 - pc_test["mask"]).clamp(-1, 1)
pc_fill = pc_masked + pc_out * pc_test["mask"]
known = 1 - pc_test["mask"]
pc_mean = pc_masked + (pc_masked.sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)) * pc_test["mask"]
fig = show_rows({"input": pc_masked[:8], "your PConv net": pc_fill[:8], "mean colour": pc_mean[:8],
                 "truth": pc_test["image"][:8]}, value_range=(-1, 1), scale=1.3)

# %% [markdown]
# Five layers with a receptive field of 19 px fill the hole from its border inwards: the colours
# flow in from the context (the renormalisation of exercise 1 at work), the texture does not yet.
# Lecture 10's PConv U-Net adds depth, downsampling and the perceptual and style losses.

# %% [markdown]
# ## What next
#
# Lecture 10 assembles these pieces into the PConv U-Net and DeepFill v2 and trains both; lecture 12
# compares them with Context Encoder, Global & Local and the classical methods on the same masks.
