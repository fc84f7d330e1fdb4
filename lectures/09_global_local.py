# %% [markdown]
# # 09 · Inpainting II: Globally and Locally Consistent Image Completion
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/09_global_local.ipynb)
#
# The Context Encoder (lecture 08) fills one fixed square in the centre of a 128x128 image, and its
# single discriminator judges the whole filled region at once, so fine detail gets little
# supervision. Iizuka, Simo-Serra and Ishikawa (SIGGRAPH 2017) change three things:
#
# * a **fully convolutional completion network** with **dilated convolutions**: no fully connected
#   layer, so any image size and any hole position, yet every output pixel sees about 300 pixels
#   of context;
# * **two discriminators**: a *global* one that looks at the whole image (is the scene coherent?)
#   and a *local* one that looks at a crop around the filled region (is its texture real?);
# * a **three-phase schedule**: the completion network alone, then the discriminators alone,
#   then both;
#
# plus classical **post-processing** (Poisson blending). In this lecture you will
#
# 1. build the completion network from the paper's Table 1 and measure its receptive field with
#    lecture 01's tools;
# 2. build the global and local discriminators (Table 2) and see what the local one is shown;
# 3. train the three phases with the course's `Trainer` and `Phase` list;
# 4. compare the result with the mean colour, biharmonic inpainting and PatchMatch inside the
#    holes, before and after Poisson blending;
# 5. look at where it fails.
#
# **Time:** about 2-3 minutes on a laptop CPU (quick mode). The lab (`labs/09_global_local_lab.ipynb`)
# asks you to write the dilated block, the network's output and the local crop.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="09_global_local")

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from course_lib import by_mode
from course_lib.inpainting.blending import poisson_blend
from course_lib.inpainting.context_encoder import parameter_count
from course_lib.inpainting.datasets import gl_rect_mask_fn, image_source, inpainting_dataset
from course_lib.inpainting.evaluate import (
    assert_beats,
    classical_baselines,
    compare,
    evaluate,
    format_table,
    held_out,
)
from course_lib.inpainting.global_local import (
    ALPHA,
    COMPLETION_TABLE,
    GLOBAL_D_CHANNELS,
    LOCAL_D_CHANNELS,
    CompletionNetwork,
    ContextDiscriminator,
    GlobalLocalTask,
    completion_layer_specs,
    hole_boxes,
    local_crop,
    three_phases,
)
from course_lib.receptive_field import empirical_receptive_field, network_from_specs, receptive_field
from course_lib.train import TrainConfig, Trainer
from course_lib.viz import show_images, show_rows, to_numpy_image

# %% [markdown]
# ## 1. The completion network: Table 1
#
# The network sees the image with the hole blanked plus the mask as a fourth channel. Two stride-2
# convolutions bring it to a quarter of the resolution; four **dilated** 3x3 convolutions
# (dilations 2, 4, 8, 16) then spread information far without more weights or lost resolution; two
# transposed convolutions come back up, and a sigmoid paints the output. Every layer but the last
# is followed by batch normalisation and a ReLU. `course_lib` builds the network from this table:

# %%
print(f"{'#':>2}  {'type':<13}{'kernel':>7}{'dilation':>9}{'stride':>8}{'outputs':>9}")
for i, row in enumerate(COMPLETION_TABLE, 1):
    stride = "1/2" if row.type == "deconv" else str(row.stride)
    print(f"{i:>2}  {row.type:<13}{row.kernel:>5}x{row.kernel}{row.dilation:>9}{stride:>8}{row.outputs:>9}")
paper_net = CompletionNetwork(width=64)
print(f"\ncompletion network with the paper's widths: {parameter_count(paper_net):,} parameters")

# %% [markdown]
# Because every layer is a convolution, the same weights complete an image of any size (a multiple
# of 4); the Context Encoder's fully connected bottleneck fixed its input at 128x128. And only the
# hole is painted: outside it, the output is the input.

# %%
small = CompletionNetwork(width=8)
for h, w in [(32, 32), (48, 80)]:
    image = torch.rand(1, 3, h, w) * 2 - 1
    mask = torch.zeros(1, 1, h, w)
    mask[..., h // 4:h // 2, w // 4:w // 2] = 1
    out = small(image, mask)
    print(f"input {h}x{w} -> output {tuple(out.shape[-2:])}; known pixels unchanged: "
          f"{torch.equal(out * (1 - mask), image * (1 - mask))}")

# %% [markdown]
# **Why dilation.** The paper's argument for dilated convolutions (its section on the completion
# network), which lecture 01 tested: a pixel in the middle of
# a large hole can only be painted from the context if its receptive field reaches past the hole's
# border. With lecture 01's receptive-field arithmetic and measurement, for Table 1's geometry:

# %%
specs = completion_layer_specs()
rf = receptive_field(specs)
probe = network_from_specs(specs, channels=2, in_channels=4)  # same geometry, 2 channels: cheap
measured = {pos: empirical_receptive_field(probe, (4, 352, 352), position=pos, n_samples=1).size[0]
            for pos in [(176, 176), (177, 177)]}
no_dilation = receptive_field([s if s.dilation == 1 else type(s)(3, 1, 1, 1) for s in specs])
print(f"receptive field: analytic {rf.size:g} px, measured {sorted(set(measured.values()))} px "
      f"(lecture 01: 301 analytic, 299-303 measured)")
print(f"the same network without dilation (all dilations 1): {no_dilation.size:g} px")
assert rf.size == 301 and all(299 <= v <= 303 for v in measured.values())

# %% [markdown]
# The dilated layers add 2 x (1 + 3 + 7 + 15) = 52 quarter-resolution pixels, about 208 input
# pixels, to the field: without them a pixel at the centre of a 128x128 hole (the paper's largest)
# would see only hole, with them it sees 86 px beyond each side. (In this lecture's quick mode the
# images are 32x32, far smaller than the field: every output pixel sees the whole image.)
#
# ## 2. Two discriminators: global and local (Table 2)
#
# Both are stacks of 5x5 stride-2 convolutions (with batch norm and ReLU) ending in a 1024-unit
# fully connected layer; the **global** one takes the whole 256x256 image (six convolutions), the
# **local** one a 128x128 crop centred on the completed region (five). Their two 1024-vectors are
# concatenated and a last fully connected layer outputs the probability that the image is real.

# %%
paper_d = ContextDiscriminator(global_size=256, local_size=128, width=64)
print(f"global convs {GLOBAL_D_CHANNELS}, local convs {LOCAL_D_CHANNELS}, then FC 1024 each, concat, FC 1")
print(f"context discriminator with the paper's sizes: {parameter_count(paper_d):,} parameters "
      f"(global {parameter_count(paper_d.global_conv) + parameter_count(paper_d.global_fc):,}, "
      f"local {parameter_count(paper_d.local_conv) + parameter_count(paper_d.local_fc):,})")

# %% [markdown]
# The quick mode scales everything down (the GPU mode less so: 128 px, half the widths): images of
# `SIZE` px with holes of 3/8 to 1/2 of the side (96-128 px at 256), a local crop of half the
# side, and every channel count times `WIDTH / 64`.
# The local crop is centred on the hole's bounding box and clamped to stay inside the image (the
# lab asks you to write it):

# %%
DATA_FOLDER = None  # full mode: a folder of photographs (e.g. Places2); None: the bundled photos and textures
SIZE = by_mode(quick=32, gpu=128, full=256)
WIDTH = by_mode(quick=16, gpu=32, full=64)
images, value_range = image_source(DATA_FOLDER, SIZE, length=100_000, seed=0)
held_images, held_range = image_source(DATA_FOLDER, SIZE, length=64, seed=1)
train_set = inpainting_dataset(images, gl_rect_mask_fn(SIZE), seed=0, value_range=value_range)
test = held_out(inpainting_dataset(held_images, gl_rect_mask_fn(SIZE), seed=1, value_range=held_range), n=32)

show = test["image"][:6] * (1 - test["mask"][:6])
boxes = hole_boxes(test["mask"][:6], SIZE // 2)
fig, axes = plt.subplots(2, 6, figsize=(11, 4))
for i in range(6):
    axes[0, i].imshow(to_numpy_image(show[i], (-1, 1)))
    top, left = boxes[i].tolist()
    axes[0, i].add_patch(Rectangle((left - 0.5, top - 0.5), SIZE // 2, SIZE // 2, fill=False, color="cyan", lw=2))
    axes[1, i].imshow(to_numpy_image(local_crop(show, test["mask"][:6], SIZE // 2)[i], (-1, 1)))
    for ax in axes[:, i]:
        ax.axis("off")
axes[0, 0].set_title("global view + local box", fontsize=9, loc="left")
axes[1, 0].set_title("local view", fontsize=9, loc="left")
fig.tight_layout()

# %% [markdown]
# ## 3. The loss and the three phases
#
# The completion network C minimises the squared error on the hole, `|| M_c * (C(x, M_c) - x) ||^2`
# (averaged over the hole's values on the sigmoid's [0, 1] scale), plus `alpha = 0.0004` times the
# GAN loss of the context discriminator D. The discriminator is trained to call real images real
# and completed ones fake (for real images, the local branch sees a random crop, as they have no
# hole). Training a GAN from scratch is fragile, so the paper trains in three phases:
#
# | phase | updates | loss | paper |
# |---|---|---|---|
# | T_C | completion network | MSE | 90,000 iterations |
# | T_D | discriminators (C fixed) | GAN | 10,000 |
# | T | both | MSE + alpha x GAN, and GAN for D | 400,000 |
#
# In `course_lib` the schedule is a list of `Phase`s, which the course's `Trainer` runs in order:
# each phase names the updates it runs and passes options to the task.

# %%
TC, TD, T = by_mode(quick=(500, 50, 200), gpu=(3_000, 500, 3_000), full=(9_000, 1_000, 40_000))
BATCH = by_mode(quick=16, gpu=32, full=96)
OPTIMIZER = by_mode(quick="adam", full="adadelta")  # the paper: ADADELTA; Adam converges faster in short runs
phases = three_phases(TC, TD, T)
for p in phases:
    print(f"{p.name:<24} {p.steps:>7} steps, updates {p.updates}, options {dict(p.options)}")
print(f"alpha = {ALPHA}")

# %%
torch.manual_seed(0)
task = GlobalLocalTask(image_size=SIZE, width=WIDTH, optimizer=OPTIMIZER, lr=1e-3)
trainer = Trainer(task, train_set, TrainConfig(batch_size=BATCH, log_every=25), phases=phases)
trainer.fit(until=TC)
after_tc = copy.deepcopy(task.C)  # the completion network trained with MSE only, for comparison
history = trainer.fit()
print(f"trained {trainer.step} steps in {history.seconds:.0f} s")
d_acc = dict(zip(history.value_steps["D/acc"], history.values["D/acc"]))  # logged every 25 steps where D trains
end_td = max(s for s in d_acc if s <= TC + TD)
print(f"discriminator accuracy (real called real, completed called fake), mean over 25 steps: "
      f"first log of T_D {d_acc[min(d_acc)]:.2f}, end of T_D {d_acc[end_td]:.2f}, end of training {d_acc[max(d_acc)]:.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(history.value_steps["C/mse"], history.values["C/mse"], label="C: MSE on the hole")
axes[0].set_xlabel("step")
axes[0].legend(fontsize=8)
axes[1].plot(history.value_steps["D/loss"], history.values["D/loss"], label="D: GAN loss")
axes[1].plot(history.value_steps["C/gan"], history.values["C/gan"], label="C: GAN loss (x alpha in its loss)")
axes[1].set_xlabel("step")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.axvline(TC, color="grey", ls="--", lw=0.8)
    ax.axvline(TC + TD, color="grey", ls="--", lw=0.8)
    ax.grid(alpha=0.3)
axes[0].set_title("phases T_C | T_D | T (dashed lines)", fontsize=9)
fig.tight_layout()

# %% [markdown]
# During T_D the discriminators learn against a fixed completion network and quickly tell its
# fills apart; in the joint phase the completion network starts to feel their GAN loss.
#
# ## 4. Results inside the holes, and Poisson blending
#
# A network's colours inside the hole are rarely exactly those of the context: a faint seam shows
# where the hole was (the paper shows results with and without post-processing). The paper post-processes with fast marching and
# **Poisson blending** (Pérez et al. 2003): keep the *gradients* of the network's output inside
# the hole, but solve for the colours so that they meet the known pixels at the hole's border.
# `course_lib.inpainting.blending.poisson_blend` solves that sparse linear system with SciPy. On a
# toy example, a prediction with the right texture and the wrong brightness:

# %%
photo = test["image"][:1]
hole = test["mask"][:1]
offset_prediction = photo + 0.4  # right structure, wrong brightness
blended = poisson_blend(offset_prediction, photo, hole)
pasted = photo * (1 - hole) + offset_prediction.clamp(-1, 1) * hole
err = lambda x: float(((x - photo).abs() * hole).sum() / (3 * hole.sum()))
print(f"mean error in the hole: pasted {err(pasted):.3f}, Poisson-blended {err(blended):.5f}")
fig = show_images(torch.cat([photo * (1 - hole), pasted, blended.clamp(-1, 1), photo]), value_range=(-1, 1),
                  titles=["input", "pasted (offset)", "Poisson-blended", "truth"], ncols=4)

# %% [markdown]
# The blend keeps the structure and removes the offset entirely (a constant offset has zero
# gradient). Now the held-out images, all methods, inside the holes. The table's last column is
# the change against the trivial baseline, the mean colour of the known pixels (negative L1 and
# positive PSNR mean better):

# %%
methods = {
    **classical_baselines(),
    "G&L after T_C (MSE only)": lambda x, m: after_tc.inpaint(x, m),
    "Global & Local": task.inpaint,
    "Global & Local + Poisson": lambda x, m: task.inpaint(x, m, blend=True),
}
scores = compare(methods, test)
print(format_table(scores, baseline="mean colour", title=f"rectangular holes, {len(test['image'])} held-out images"))
assert_beats(scores, "Global & Local + Poisson", "mean colour")  # the paper's method: network + post-processing
raw, blend, mean_fill_scores = scores["Global & Local"], scores["Global & Local + Poisson"], scores["mean colour"]
print(f"raw network vs mean colour: L1 {raw.l1 - mean_fill_scores.l1:+.4f}, PSNR {raw.psnr - mean_fill_scores.psnr:+.2f} dB;"
      f" Poisson blending changes the raw network's L1 by {blend.l1 - raw.l1:+.4f} and PSNR by {blend.psnr - raw.psnr:+.2f} dB")
assert blend.l1 < raw.l1 and blend.psnr > raw.psnr

# %% [markdown]
# **Reading the table honestly.** In quick mode the completion network has had a few hundred
# updates on 32x32 images; the paper trained 500,000 on Places2. The figure below shows what it
# has learnt: after T_C it paints a smooth fill, but often in the wrong colour (an orange patch on
# a pink texture): carrying each image's colour from the context into the hole through 17 plain
# convolutional layers is slow to learn, and a wrong colour level is what PSNR punishes most. So
# on its own the raw network is not better than pasting the mean colour (the printed line above).
# Poisson blending changes only a smooth correction (the hole's border values come from the
# context, the gradients from the network), and it brings the largest gain of the table: most of
# the short-run network's error is that colour level, the seam that the paper's post-processing hides. With the paper's
# post-processing, the method beats the mean colour inside the holes (asserted). Biharmonic
# inpainting and PatchMatch remain ahead at this size and budget. A network trained much longer
# does beat the mean colour on its own: section 4b below shows the course's shipped checkpoint.

# %%
rows = {"input": test["image"][:8] * (1 - test["mask"][:8])}
short = {"mean colour": "mean colour", "PatchMatch": "PatchMatch", "G&L after T_C (MSE only)": "G&L after T_C",
         "Global & Local": "G&L", "Global & Local + Poisson": "G&L + Poisson"}
rows.update({label: scores[name].outputs[:8] for name, label in short.items()})
rows["truth"] = test["image"][:8]
fig = show_rows(rows, value_range=(-1, 1), scale=1.3)

# %% [markdown]
# Look closely at the network's rows: inside the holes there is a faint checkerboard of colours.
# It is the signature of the transposed convolutions (Table 1's layers 13 and 15, kernel 4 and
# stride 2: neighbouring output pixels receive different numbers of contributions; Odena et al.,
# "Deconvolution and Checkerboard Artifacts", 2016), which a long training learns to cancel and a
# few hundred steps do not. After T_C (MSE only) it is faint; the short adversarial phase makes it
# much stronger: the discriminators ask for high-frequency detail, and this is the cheapest
# detail the network can make. In the Poisson row the colour level comes from the border while
# the network's pattern stays. A longer, balanced adversarial training is what turns this into
# texture.

# %% [markdown]
# ## 4b. The shipped checkpoint: the same network, trained well past the quick run
#
# A few hundred steps on 32x32 images show the mechanics, not what the method can do. The course
# ships a completion network trained much longer, `pretrained.load("global_local")`: Table 1 with
# every channel count at a quarter of the paper's (width 16, so the file stays small), trained on
# 64x64 crops of the bundled photos (no textures) with Global & Local's rectangular holes (sides
# 24-32 px, the paper's 96-128 at 256 px), with the completion phase T_C only (the MSE loss of
# Sec. 3.3). `pretrained.info` records how it was built; the held-out crops below come from
# another seed (other crops and other holes than in training).

# %%
from course_lib import pretrained
from course_lib.inpainting.blending import mean_fill
from course_lib.inpainting.evaluate import show_comparison
from course_lib.inpainting.global_local import postprocess
from course_lib.pretrained.inpainting_specs import gl_held_out, mean_colour_image

shipped = pretrained.load("global_local")
info = pretrained.info("global_local")
print(f"{info['description']}\n  {info['phases']}, batch {info['batch_size']}, {info['optimizer']}; "
      f"{info['bytes'] / 2**20:.2f} MiB ({info['dtype']}), built in {info['wall_s'] / 60:.1f} min on {info['machine']}")
test64 = gl_held_out()
shipped_scores = compare({
    "mean colour": mean_fill,
    "mean colour + Poisson": lambda x, m: postprocess(x, m, mean_colour_image(x, m)),
    "quick-run G&L": task.inpaint,
    "quick-run G&L + Poisson": lambda x, m: task.inpaint(x, m, blend=True),
    "shipped G&L": shipped.inpaint,
    "shipped G&L + Poisson": lambda x, m: shipped.inpaint(x, m, blend=True),
}, test64)
print(format_table(shipped_scores, baseline="mean colour",
                   title=f"{len(test64['image'])} held-out 64x64 photo crops, rectangular holes 24-32 px"))
ship, base = shipped_scores["shipped G&L"], shipped_scores["mean colour"]
print(f"raw shipped network vs mean colour: L1 {ship.l1:.4f} vs {base.l1:.4f} ({ship.l1 / base.l1:.2f}x), "
      f"PSNR {ship.psnr:.2f} vs {base.psnr:.2f} dB ({ship.psnr - base.psnr:+.2f} dB)")
assert_beats(shipped_scores, "shipped G&L", "mean colour")  # without any post-processing
ship_p, base_p = shipped_scores["shipped G&L + Poisson"], shipped_scores["mean colour + Poisson"]
print(f"Poisson on both: shipped G&L + Poisson L1 {ship_p.l1:.4f} vs mean colour + Poisson {base_p.l1:.4f} "
      f"({'network' if ship_p.l1 < base_p.l1 else 'mean colour'} lower); PSNR {ship_p.psnr:.2f} vs {base_p.psnr:.2f} dB "
      f"({'network' if ship_p.psnr > base_p.psnr else 'mean colour'} higher)")

# %%
shown = ["mean colour", "quick-run G&L", "shipped G&L", "shipped G&L + Poisson"]
fig = show_comparison({name: shipped_scores[name] for name in shown}, test64, indices=[0, 1, 2, 3, 4, 5],
                      suptitle="in-hole L1 / PSNR: column titles over all held-out crops, below each image for that image")

# %% [markdown]
# **What the shipped network shows.** The quick run was trained on 32x32 crops (half of them
# tinted textures), so on these 64x64 photo crops, with larger holes than it ever saw, it paints a
# coloured checkerboard (the transposed convolutions of section 4, amplified by its short
# adversarial phase) and loses to the mean colour. The shipped network has the same
# architecture and only the completion phase, yet *without any post-processing* it beats the mean
# colour inside the holes (asserted above, the margins are printed): it carries the context's
# colours into the hole, and near the hole's border it continues edges (the cup's rim, the
# rocket's body, the fur's shading). What it does not paint is detail: towards the centre of a
# hole the fill becomes a smooth blur. That is the MSE loss at work, which predicts the *mean* of
# the plausible fillings (lecture 08); the adversarial phase T exists to remove it, and this
# checkpoint, trained on a CPU budget, does not have it.
#
# **The same post-processing on both.** Sec. 3.4's Poisson blend keeps a prediction's gradients and
# takes the colours at the hole's border from the context. Applied to the mean colour's constant
# image (zero gradients), it becomes the smooth interpolation of the border colours, a much
# stronger baseline than the flat mean: read the line printed above the figure. On these small
# holes that smooth interpolation is hard to beat: the network's extra structure lowers the
# absolute error when it is right, while a confident wrong edge costs more in the squared error
# behind PSNR. The paper's setting is harder for any interpolation: 256 px images with holes of
# 96-128 px, whose centres lie far from every border colour, and 500,000 iterations of training;
# whether the learned completion pulls ahead there is the capstone's question (lecture 12,
# `COURSE_MODE=full`).

# %% [markdown]
# ## 5. Where it fails
#
# Iizuka et al. (2017) discuss two kinds of failure with their limitations: holes at the **border** of the image, which have
# context on fewer sides, and **complex scenes**, where the content of the hole cannot be guessed.
# Both show up in the per-image errors of the trained network:

# %%
gl = scores["Global & Local"].per_image
touches = ((test["mask"][:, 0, 0].amax(1) > 0) | (test["mask"][:, 0, -1].amax(1) > 0)
           | (test["mask"][:, 0, :, 0].amax(1) > 0) | (test["mask"][:, 0, :, -1].amax(1) > 0))
known = 1 - test["mask"]
mean = (test["image"] * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
busyness = (((test["image"] - mean) ** 2 * known).sum((1, 2, 3)) / (3 * known.sum((1, 2, 3)))).sqrt()
busy = busyness > busyness.median()
for name, group in [("hole touches the border", touches), ("hole inside the image", ~touches),
                    ("busy context (above-median contrast)", busy), ("calm context", ~busy)]:
    if group.any():
        print(f"{name:<38} {int(group.sum()):>3} images: L1 {float(gl['l1'][group].mean()):.4f}, "
              f"PSNR {float(gl['psnr'][group].mean()):.2f} dB")
assert float(gl["l1"][busy].mean()) > float(gl["l1"][~busy].mean())
corr = float(torch.corrcoef(torch.stack([busyness, gl["l1"]]))[0, 1])
print(f"correlation between the context's contrast and the L1 in the hole, over {len(gl['l1'])} images: {corr:+.2f}")
worst = torch.argsort(gl["l1"], descending=True)[:6]
print(f"the six worst images: context contrast {float(busyness[worst].mean()):.3f} on average "
      f"(median of the set {float(busyness.median()):.3f}); holes touching the border: {int(touches[worst].sum())} of 6")
fig = show_rows({"input": test["image"][worst] * (1 - test["mask"][worst]),
                 "Global & Local": scores["Global & Local"].outputs[worst], "truth": test["image"][worst]},
                value_range=(-1, 1), scale=1.3)

# %% [markdown]
# Read the printed numbers: where the context is busy (texture, many edges) the network paints a
# smooth average where the truth has detail it cannot know, and the error is larger (asserted
# above); the six worst completions are shown with their truth. Holes touching the border have a
# larger error too, but only a few of the 32 held-out holes touch it, so that estimate is noisy;
# the paper's failure examples show the case at larger sizes. The paper adds a
# third limit: a network only paints what its training data contained, so a model
# trained on Places2 scenes cannot complete a face, and one trained on faces cannot complete a
# street.
#
# ## Summary
#
# * A fully convolutional completion network (Table 1) fills holes of any shape in images of any
#   size; its dilated layers give every pixel a ~300 px receptive field (lecture 01's arithmetic).
# * A global and a local discriminator (Table 2), fused by a fully connected layer, judge the
#   scene and the filled texture; the local one sees a crop centred on the hole.
# * Training runs in three phases (MSE only, discriminators only, both with alpha = 0.0004), a
#   list of `Phase`s for the course's `Trainer`.
# * Trained long enough (the shipped checkpoint, section 4b), the raw completion network beats the
#   mean colour inside the holes on its own; with MSE alone its fills are blurred towards the centre.
# * Poisson blending removes colour seams by keeping the prediction's gradients and the context's
#   values at the border.
# * It fails where context is scarce (borders) or the content unpredictable (busy scenes).
#
# **Next:** the lab (`labs/09_global_local_lab.ipynb`), then lecture 10: partial and gated
# convolutions, contextual attention and free-form masks.
