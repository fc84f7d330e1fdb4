# %% [markdown]
# # 01 · Dilated convolution and receptive fields
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/01_receptive_fields.ipynb)
#
# Every image-to-image network answers the same question at every output pixel: *which input
# pixels can this output depend on?* That set is the pixel's **receptive field**. It decides
# whether an inpainting network can see past the edge of a hole, whether a discriminator judges
# texture or layout, and whether a translation network can keep a building's windows aligned.
#
# In this lecture you will
#
# 1. compare a 3x3, a 5x5 and a *dilated* 3x3 kernel: the dilated one covers 5x5 with 9 weights;
# 2. derive the receptive field of a stack of layers and watch dilations 1, 2, 4, 8, 16 make it
#    grow exponentially with depth;
# 3. measure receptive fields of real networks by back-propagation, and see the *effective*
#    field: not all pixels inside count equally;
# 4. train two hole-filling networks with the same weights and different receptive fields, and
#    see the error jump exactly where the field stops reaching the hole's border (the argument of
#    *Globally and Locally Consistent Image Completion*, lecture 09);
# 5. see the gridding artefact of repeated dilation, and compute the 70x70 field of pix2pix's
#    PatchGAN (lecture 04);
# 6. explore all of it with sliders.
#
# **Time:** about 2 minutes on a laptop CPU (quick mode). The lab (`labs/01_receptive_fields_lab.ipynb`)
# asks you to write the formula, a dilated stack and the measurement yourself.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="01_receptive_fields")

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_lib import by_mode, metrics
from course_lib.data import SmoothFieldHoles
from course_lib.inpainting.global_local import completion_layer_specs
from course_lib.nn import ContextNet, PatchGAN, dilated_stack
from course_lib.receptive_field import (
    LayerSpec,
    empirical_receptive_field,
    explore,
    kernel_footprint,
    layers_from_module,
    network_from_specs,
    receptive_field,
    receptive_field_table,
)
from course_lib.train import SupervisedTask, TrainConfig, Trainer
from course_lib.viz import show_rows
from course_lib.widgets import ReceptiveFieldExplorer, draw_exploration

# %% [markdown]
# ## 1. Three kernels, two footprints
#
# A convolution computes each output from a small window of its input. A 3x3 kernel reads a 3x3
# window (9 weights); a 5x5 kernel reads 5x5 (25 weights). A **dilated** kernel spreads its taps
# apart: with dilation $d$ the taps of a 3x3 kernel sit $d$ pixels apart, so it reads a
# $(2d+1)\times(2d+1)$ window with the same 9 weights. In PyTorch it is one argument:
# `nn.Conv2d(c_in, c_out, 3, padding=d, dilation=d)` (padding $d$ keeps the size).

# %%
kernels = [(3, 1), (5, 1), (3, 2), (3, 3)]
fig, axes = plt.subplots(1, len(kernels), figsize=(10, 2.8))
for ax, (k, d) in zip(axes, kernels):
    foot = kernel_footprint(k, d)
    ax.imshow(foot, cmap="Blues", vmin=0, vmax=1.3)
    ax.set_xticks(np.arange(-0.5, foot.shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, foot.shape[0], 1), minor=True)
    ax.grid(which="minor", color="grey", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(f"{k}x{k}, dilation {d}\n{k * k} weights, covers {foot.shape[0]}x{foot.shape[1]}", fontsize=9)
fig.tight_layout()

# %% [markdown]
# The 5x5 kernel and the dilated 3x3 kernel cover the same 5x5 window; the dilated one uses 9
# weights instead of 25 and skips every other pixel. Whether skipping is harmless depends on what
# comes before it, which is the topic of section 5.
#
# ## 2. Receptive field arithmetic
#
# Walk from the input to the output and keep two numbers per layer: the **receptive field** $r$
# (how many input pixels one unit sees, per side) and the **jump** $j$ (how many input pixels
# apart two neighbouring units are). Start with $r = 1$, $j = 1$ (a pixel sees itself). A layer
# with kernel $k$, stride $s$ and dilation $d$ spans $(k-1)d + 1$ of its input units, which are
# $j$ input pixels apart, so
#
# $$ r \leftarrow r + (k - 1)\, d\, j, \qquad j \leftarrow j\, s. $$
#
# Stride multiplies the jump, so every layer after a downsampling grows the field faster; dilation
# multiplies what a single layer adds. `course_lib.receptive_field` implements this recurrence
# (and the one for transposed convolutions). Compare five 3x3 layers without dilation, with
# dilations 1, 2, 4, 8, 16, and five 5x5 layers:

# %%
stacks = {
    "3x3, dilation 1 (x5)": [LayerSpec(3, dilation=1)] * 5,
    "3x3, dilations 1-2-4-8-16": [LayerSpec(3, dilation=d) for d in (1, 2, 4, 8, 16)],
    "5x5, dilation 1 (x5)": [LayerSpec(5)] * 5,
}
channels = 64
print(f"{'stack':<28} {'weights per 64-channel layer':>30}   receptive field after each layer")
for name, specs in stacks.items():
    sizes = [int(rf.size) for rf in receptive_field_table(specs)[1:]]
    weights = specs[0].kernel_size ** 2 * channels * channels
    print(f"{name:<28} {weights:>30,}   {sizes}")

# %% [markdown]
# With the same 9 weights per layer, doubling the dilation at each layer makes the field grow
# exponentially, $r = 1 + 2(1 + 2 + 4 + \dots + 2^{n-1}) = 2^{n+1} - 1$, while plain 3x3 layers
# grow it linearly ($2n + 1$) and even 5x5 layers only reach 21 at almost three times the weights.

# %%
depths = np.arange(1, 9)
plain = [receptive_field([LayerSpec(3)] * n).size for n in depths]
dilated = [receptive_field([LayerSpec(3, dilation=2**i) for i in range(n)]).size for n in depths]
strided = [receptive_field([LayerSpec(3, stride=2)] * n).size for n in depths]
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(depths, plain, "o-", label="3x3")
ax.plot(depths, dilated, "s-", label="3x3, dilation 2^(layer)")
ax.plot(depths, strided, "^-", label="3x3, stride 2 (loses resolution)")
ax.set_yscale("log", base=2)
ax.set_xlabel("number of layers")
ax.set_ylabel("receptive field (px)")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# Striding grows the field as fast as dilation, but each stride-2 layer halves the resolution:
# the output of eight of them is 256 times smaller than the input. Dilation is the way to see far
# *and* keep every pixel, which is exactly what a network that paints pixels needs.
#
# ## 3. Measuring a receptive field
#
# The formula describes the geometry; a real network is code. To measure which inputs an output
# unit depends on, back-propagate from that one unit: the input pixels with a non-zero gradient are
# its receptive field. `empirical_receptive_field` does this (in eval mode, so that batch norm does
# not mix positions through batch statistics). For a dilated stack built with `course_lib.nn`:

# %%
net = dilated_stack(channels=8, dilations=(1, 2, 4, 8, 16))
analytic = receptive_field(layers_from_module(net))
measured = empirical_receptive_field(net, (8, 96, 96))
print(f"analytic receptive field: {analytic.size:g} px")
print(f"measured by back-propagation: {measured.size[0]} x {measured.size[1]} px")
assert measured.size == (analytic.size, analytic.size)

# %% [markdown]
# The gradient magnitude says more than the extent: it is the **effective receptive field** (Luo
# et al., 2016). Counting the paths from each input pixel to the output unit (all weights set to
# one) shows that a deep stack of plain convolutions concentrates on the centre of its field,
# roughly like a Gaussian, while the dilated stack spreads its attention evenly.

# %%
cases = {"3x3, 5 layers": (3, 1, 5), "3x3, 12 layers": (3, 1, 12), "3x3, dilations 1-2-4-8-16": (3, (1, 2, 4, 8, 16), None)}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (name, geometry) in zip(axes, cases.items()):
    draw_exploration(explore(*geometry), ax=ax)
    ax.set_xlabel(name)

# %% [markdown]
# ## 4. Why a hole's centre needs a large receptive field
#
# Seed article 001 (*Globally and Locally Consistent Image Completion*, Iizuka et al., 2017)
# argues for dilation with two pixels of a hole: $p_1$ near the border and $p_2$ at the centre.
# With a small receptive field, $p_1$'s field reaches known pixels but $p_2$'s does not, so the
# network can only guess $p_2$. Let us test the argument rather than believe it.
#
# The data: smooth colour fields (a colour plus two ramps) with a square hole in the middle. The
# two networks are identical (a 1x1 conv in, five 3x3 convs with 16 channels, a 1x1 conv out),
# except for the dilations: `(1, 1, 1, 1, 1)` sees 11x11 pixels, `(1, 2, 4, 8, 16)` sees 63x63.
# Both are trained to minimise the squared error inside the hole.

# %%
size, hole = by_mode(quick=(40, 20), gpu=(96, 48), full=(96, 48))
steps = by_mode(quick=600, gpu=4000, full=4000)
train_set = SmoothFieldHoles(length=5000, size=size, hole=hole, seed=0)
test_set = SmoothFieldHoles(length=64, size=size, hole=hole, seed=1)
test = torch.utils.data.default_collate([test_set[i] for i in range(len(test_set))])


def hole_mse(pred: torch.Tensor, batch: dict) -> torch.Tensor:
    """Mean squared error over the pixels of the hole (mask = 1)."""
    return ((pred - batch["image"]) ** 2 * batch["mask"]).sum() / (3 * batch["mask"].sum())


models = {}
for name, dilations in {"plain (RF 11)": (1, 1, 1, 1, 1), "dilated (RF 63)": (1, 2, 4, 8, 16)}.items():
    torch.manual_seed(0)
    model = ContextNet(channels=16, dilations=dilations)
    task = SupervisedTask(model, hole_mse, inputs=("image", "mask"), lr=2e-3)
    history = Trainer(task, train_set, TrainConfig(steps=steps, batch_size=8, log_every=50)).fit()
    models[name] = model.eval()
    print(f"{name:<16} trained {steps} steps in {history.seconds:5.1f} s, final hole MSE {history.last('G/loss'):.4f}")

# %% [markdown]
# Now the test: for each pixel of the hole, its distance to the nearest known pixel (1 = on the
# border ring, `hole // 2` = the centre), and the mean absolute error of each network there. As a
# trivial baseline, fill the hole with the mean colour of the known pixels.

# %%
distance = train_set.distance_to_border()
known = 1 - test["mask"]
mean_fill = (test["image"] * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
predictions = {"mean colour (baseline)": mean_fill.expand_as(test["image"])}
with torch.no_grad():
    for name, model in models.items():
        predictions[name] = model(test["image"], test["mask"])

levels = range(1, hole // 2 + 1)
print(f"{'distance to a known pixel':<26}" + "".join(f"{d:>6}" for d in levels))
for name, pred in predictions.items():
    err = (pred - test["image"]).abs().mean(dim=(0, 1))
    print(f"{name:<26}" + "".join(f"{float(err[distance == d].mean()):6.3f}" for d in levels))
for name, pred in predictions.items():
    hole_psnr = metrics.psnr(pred, test["image"], (-1, 1), mask=test["mask"]).mean()
    print(f"PSNR inside the hole, {name:<24} {hole_psnr:5.1f} dB")

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
for name, pred in predictions.items():
    err = (pred - test["image"]).abs().mean(dim=(0, 1))
    ax.plot(list(levels), [float(err[distance == d].mean()) for d in levels], "o-", label=name)
ax.axvline(5.5, color="grey", linestyle="--")
ax.text(5.7, 0.5, "beyond this line the plain\nnet's field sees only hole", fontsize=8, transform=ax.get_xaxis_transform())
ax.set_xlabel("distance to the nearest known pixel (px)")
ax.set_ylabel("mean absolute error")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# The plain network's field is 11 pixels wide: a pixel more than 5 pixels inside the hole sees
# only hole, so all it can do is output the average colour of the training set, and its error
# jumps at distance 6, exactly where the receptive field predicts. (Even near the border it is
# worse than the baseline: the blind centre dominates its loss, and it has had few steps to learn
# to extend the ramps.) The dilated network, with the same number of weights, sees past the
# border from every pixel of the hole and beats the baseline almost everywhere.

# %%
show = slice(0, 6)
fig = show_rows(
    {"input": test["image"][show] * (1 - test["mask"][show]),
     **{name: pred[show].clamp(-1, 1) for name, pred in predictions.items() if name != "mean colour (baseline)"},
     "truth": test["image"][show]},
    value_range=(-1, 1),
)

# %% [markdown]
# Global & Local's completion network makes the same choice at full scale. Its layer table (Iizuka
# et al. 2017, Table 1) is below as layer geometry: two stride-2 convolutions, four dilated
# convolutions (2, 4, 8, 16) at quarter resolution, and two transposed convolutions back up. The
# field it reaches covers a 128x128 hole with room to spare. `course_lib.inpainting.global_local`
# keeps the table in one place, for this lecture and for lecture 09.

# %%
# Table 1 as (kernel, stride, dilation, padding) rows; lecture 09 builds the real network from it.
GL_COMPLETION = completion_layer_specs()
print("layers (kernel/stride/dilation, T = transposed):",
      " ".join(f"{s.kernel_size}/{s.stride}/{s.dilation}{'T' if s.transposed else ''}" for s in GL_COMPLETION))
gl_rf = receptive_field(GL_COMPLETION)
gl_net = network_from_specs(GL_COMPLETION, channels=4)  # same geometry, 4 channels: cheap to measure
sizes = {pos: empirical_receptive_field(gl_net, 384, position=pos, n_samples=2).size[0] for pos in [(192, 192), (193, 193)]}
print(f"Global & Local completion network: analytic {gl_rf.size:g} px; measured {sizes}")

# %% [markdown]
# The measured field is 299 or 303 pixels depending on the output pixel. The transposed
# convolutions are the reason: with kernel 4 and stride 2, neighbouring outputs overlap their
# inputs unevenly (the same unevenness causes the checkerboard artefacts of Odena et al., 2016),
# so the formula, which assumes evenly spaced units, is exact for convolutions and pooling but
# only within a few pixels after a transposed convolution.
#
# ## 5. The gridding artefact
#
# Dilation skips pixels. One dilated layer after dense ones is harmless, but stacking layers
# with the *same* dilation (or dilations with a common factor) leaves a regular grid of input
# pixels that no path reaches: the output only ever sees every second (or fourth) pixel. This is
# the **gridding artefact** (Wang et al., "Understanding Convolution for Semantic Segmentation",
# 2018). Choosing dilations without a common factor, such as 1, 2, 5 or 1, 2, 4, 8, fills the holes.

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, dilations in zip(axes, [(2, 2, 2), (4, 4), (1, 2, 5)]):
    draw_exploration(explore(3, dilations), ax=ax)
    ax.set_xlabel(f"dilations {dilations}")

# %% [markdown]
# ## 6. The 70x70 PatchGAN
#
# pix2pix's discriminator (lecture 04) does not judge the whole image; it outputs a grid of
# scores, each judging one patch. Its default has three stride-2 4x4 convolutions and two stride-1
# ones (channels 64-128-256-512-1). The receptive field of one score is the "70x70 patch" of its
# name, and a 256x256 image gets a 30x30 grid of scores. `course_lib.nn.PatchGAN` is the network
# itself, so the library reads its geometry and measures it:

# %%
patchgan = PatchGAN(in_channels=6, ndf=64, n_layers=3, norm="batch")
patch_rf = receptive_field(layers_from_module(patchgan))
out_size = patchgan(torch.zeros(1, 6, 256, 256)).shape[-1]
patch_emp = empirical_receptive_field(patchgan, 256)
print(f"PatchGAN: analytic field {patch_rf.size:g} px, measured {patch_emp.size}, "
      f"{out_size}x{out_size} scores for a 256x256 input, neighbouring scores {patch_rf.jump:g} px apart")
assert patch_rf.size == 70 and patch_emp.size == (70, 70) and out_size == 30

# %% [markdown]
# ## 7. Explore
#
# Move the sliders: kernel size, dilation, depth and stride of a stack of identical layers. The
# title shows the analytic field and the measured one; the colours show the effective field (how
# many paths reach each input pixel), and the cyan square its extent. Try dilation 2 with depth 3
# (gridding), then kernel 3, depth 6, stride 2 (the field explodes, the resolution collapses).

# %%
# NBVAL_IGNORE_OUTPUT
ReceptiveFieldExplorer(kernel_size=3, dilation=2, depth=3, stride=1)

# %% [markdown]
# (Sliders need a live kernel. Without one (on GitHub, on the course website, or in a downloaded
# notebook before you run it) the cell shows a still image of the explorer at the settings above;
# the figures of sections 3 and 5 are its output for a few other settings.)

# %% [markdown]
# ## Summary
#
# * A unit's receptive field grows by $(k - 1)\,d\,j$ per layer; stride multiplies $j$ for every
#   later layer, dilation multiplies one layer's contribution without losing resolution.
# * Measure a network's field by back-propagating from one output unit; the gradient magnitude is
#   the effective field, which concentrates on the centre for plain stacks.
# * A hole-filling network can only use context inside its field. Our two equal-sized networks
#   differ only in dilation, and the plain one fails precisely at the pixels its field cannot see
#   out of.
# * Repeating a dilation leaves holes (gridding); mix dilations without a common factor.
# * PatchGAN's scores each see a 70x70 patch; the Global & Local completion network sees about
#   300x300 pixels.
#
# **Next:** the lab (`labs/01_receptive_fields_lab.ipynb`): write the recurrence, a dilated stack
# and the empirical measurement, graded as you go.
