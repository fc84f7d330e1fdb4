# %% [markdown]
# # 08 · Inpainting I: PatchMatch and the Context Encoder
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/08_inpainting_classical_ce.ipynb)
#
# **Inpainting** fills the missing or damaged region of an image so that nobody can tell it was
# missing: removing a watermark, a passer-by or a power line, restoring a scratched photo, filling
# the holes a video stabiliser leaves. It is *ill-posed*: a hole has infinitely many plausible
# fillings, and all we know is the context around it. Two ideas answer it:
#
# * **copy**: the missing content probably looks like something elsewhere in the same image; find
#   the best-matching patches and paste them (PatchMatch, 2009);
# * **learn**: a network that has seen many images learns what usually goes where, and paints the
#   hole from an encoding of the context (Context Encoder, 2016).
#
# In this lecture you will
#
# 1. set up the course's inpainting conventions: masks (1 = hole), the evaluation *inside the
#    hole* (L1, PSNR, SSIM), and the trivial baseline every method must beat, the mean colour;
# 2. build PatchMatch's nearest-neighbour field from random guesses, propagation and random
#    search, and watch it converge to the exhaustive answer in a few passes;
# 3. remove a rocket from a photo with coarse-to-fine PatchMatch;
# 4. read the Context Encoder (encoder, channel-wise fully connected layer, decoder) and count
#    why its channel-wise layer matters;
# 5. see why an L2 loss alone paints blur, then train a Context Encoder with L2 only and with
#    L2 + adversarial loss and measure the difference.
#
# **Time:** about 2-3 minutes on a laptop CPU (quick mode). The lab
# (`labs/08_inpainting_classical_ce_lab.ipynb`) asks you to write the masked reconstruction loss,
# the mean-colour baseline and the Context Encoder's loss.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="08_inpainting_classical_ce")

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from course_lib import by_mode
from course_lib.data import load_photo
from course_lib.inpainting import center_mask, hole_ratio
from course_lib.inpainting.blending import biharmonic_inpaint, mean_fill
from course_lib.inpainting.context_encoder import (
    ContextEncoder,
    ContextEncoderTask,
    context_encoder_mask,
    overlap_weights,
    parameter_count,
)
from course_lib.inpainting.datasets import (
    InpaintingImages,
    context_encoder_mask_fn,
    gl_rect_mask_fn,
    image_source,
    inpainting_dataset,
)
from course_lib.inpainting.evaluate import (
    assert_beats,
    classical_baselines,
    compare,
    format_table,
    held_out,
    high_frequency_energy,
)
from course_lib.inpainting.patchmatch import (
    exact_nearest_neighbour_field,
    inpaint_patchmatch,
    nearest_neighbour_field,
    reconstruct_from_nnf,
)
from course_lib.train import TrainConfig, Trainer
from course_lib.viz import plot_history, show_images, show_rows

# %% [markdown]
# ## 1. Holes, the evaluation, and the baseline to beat
#
# A **mask** has the image's height and width and one channel, with **1 = hole** (missing) and
# 0 = known; the whole course uses this convention. Context Encoder trains with a square hole in
# the centre (64x64 in a 128x128 image); Global & Local (lecture 09) with one rectangle anywhere
# (sides 96-128 px in 256x256 crops). The quick mode of this lecture uses 32x32 images, built from
# the photos and texture photographs that ship with scikit-image; the GPU mode (one Colab T4) uses
# the paper's 128x128 images and widths on the same photos, with shorter training; full mode uses
# the papers' sizes and schedules (set `DATA_FOLDER` to a folder of photographs, e.g. Places2 or
# Paris StreetView crops).

# %%
DATA_FOLDER = None  # full mode: a folder of photographs; None: the bundled photos and textures
SIZE = by_mode(quick=32, gpu=128, full=128)
images, value_range = image_source(DATA_FOLDER, SIZE, length=100_000, seed=0)
held_images, held_range = image_source(DATA_FOLDER, SIZE, length=64, seed=1)
ce_held = inpainting_dataset(held_images, context_encoder_mask_fn(SIZE), seed=1, value_range=held_range)
rect_held = inpainting_dataset(held_images, gl_rect_mask_fn(SIZE), seed=1, value_range=held_range)
items = [ce_held[i] for i in range(3)] + [rect_held[i] for i in range(3, 6)]
examples, masks = torch.stack([it["image"] for it in items]), torch.stack([it["mask"] for it in items])
print(f"image size {SIZE}; hole ratio of each mask:", [round(float(r), 3) for r in hole_ratio(masks)])
fig = show_rows({"image": examples, "mask (white = hole)": masks.expand(-1, 3, -1, -1) * 2 - 1,
                 "what a method sees": examples * (1 - masks)}, value_range=(-1, 1))

# %% [markdown]
# The Context Encoder's hole is the centre (`SIZE/2` square) minus a few pixels per side: the
# network predicts the whole centre, and that thin known band ("overlap", section 4) ties its
# prediction to the context.
#
# **Evaluation.** A method gets the image with the hole blanked and the mask; we paste its hole
# pixels into the known image and measure only the hole: mean absolute error (L1, on the [0, 1]
# scale), PSNR, and SSIM over windows centred in the hole, per image, averaged over a fixed
# held-out set (other images and masks than training). `course_lib.inpainting.evaluate` does this
# for every inpainting lecture and the capstone.
#
# **The trivial baseline.** Fill the hole with the mean colour of the image's known pixels. It
# knows nothing about structure, but its colour is right on average, and on noisy textures it is
# hard to beat in L1 or PSNR. Every learned method of the course must beat it, inside the holes.

# %%
ce_test = held_out(ce_held, n=32)
baselines = compare(classical_baselines(patchmatch=False), ce_test)
print(format_table(baselines, baseline="mean colour", title="centre holes, held-out images"))

# %% [markdown]
# Biharmonic inpainting (the smoothest surface through the known pixels, scikit-image) already
# beats the mean colour: continuing the context smoothly is better than one flat colour. Neither
# can invent texture.
#
# ## 2. PatchMatch: a nearest-neighbour field in a few passes
#
# Copying patches needs, for every patch of the region to fill, the most similar patch of the
# known region: a **nearest-neighbour field** (NNF) `f(p) = argmin_q ||P_A(p) - P_B(q)||^2` over
# 7x7 patches. Exhaustive search costs |A| x |B| patch comparisons, hopeless for real images.
# PatchMatch (Barnes et al., SIGGRAPH 2009) relies on one observation: neighbouring patches tend to
# have neighbouring matches. It
#
# 1. **initialises** every patch with a random match: most are bad, a few are good by luck;
# 2. **propagates**: each patch tries its left neighbour's match shifted one pixel right,
#    `f(x - 1, y) + (1, 0)` (and its upper neighbour's); one lucky patch thus hands its match along
#    the whole row. Odd passes go right-to-left and bottom-to-top;
# 3. **searches randomly** around its current match in windows of radius w, w/2, w/4, ... 1.
#
# `course_lib.inpainting.patchmatch` vectorises the passes: a pass sweeps the columns, updating a
# whole column at once from the previous one, then the rows. Let us match two overlapping crops of
# a photo (A is B shifted by a few pixels, plus changes at the borders) and compare with the exact
# field from exhaustive search.

# %%
photo = load_photo("chelsea", 96)
a_img, b_img = photo[:, 8:72, 10:74], photo[:, 2:66, 4:68]  # A(y, x) = B(y + 6, x + 6)
t0 = time.perf_counter()
pm = nearest_neighbour_field(a_img, b_img, patch_size=7, iterations=5, seed=0)
t_pm = time.perf_counter() - t0
t0 = time.perf_counter()
exact = exact_nearest_neighbour_field(a_img, b_img, patch_size=7)
t_exact = time.perf_counter() - t0
print("mean squared patch difference after the random init and after each pass:")
print("  " + ", ".join(f"{v:.5f}" for v in pm.history))
print(f"exhaustive search: {exact.history[0]:.5f}   ({t_exact:.2f} s; PatchMatch {t_pm:.2f} s)")
agree = float((pm.field == exact.field).all(-1).mean())
print(f"PatchMatch found the exact nearest neighbour for {agree:.0%} of the patches")
assert pm.history[-1] < 1.5 * exact.history[0] and pm.history[0] > 10 * pm.history[-1]

# %%
random_init = nearest_neighbour_field(a_img, b_img, patch_size=7, iterations=0, seed=0)
one_pass = nearest_neighbour_field(a_img, b_img, patch_size=7, iterations=1, seed=0)
recon = {name: torch.from_numpy(reconstruct_from_nnf(b_img, f, 7)).permute(2, 0, 1)
         for name, f in [("random init", random_init), ("1 pass", one_pass), ("5 passes", pm), ("exhaustive", exact)]}
fig = show_images([a_img, b_img, *recon.values()], value_range=(0, 1),
                  titles=["A (to rebuild)", "B (patch source)", *[f"A from B: {k}" for k in recon]], ncols=6)

# %% [markdown]
# Rebuilding A from B's patches (each pixel averages what the matched patches put there) shows
# the field's quality: noise after the random initialisation, almost the exact result after one
# pass (propagation spreads the lucky guesses across the image), indistinguishable after five.
# A picture of the field itself: the offset `f(p) - p` coloured by direction. A perfect shift is
# one flat colour; the borders of A, which B does not contain, match elsewhere.

# %%
ys, xs = np.mgrid[0:64, 0:64]
fig, axes = plt.subplots(1, 3, figsize=(8.5, 3))
for ax, (name, f) in zip(axes, [("random init", random_init), ("1 pass", one_pass), ("5 passes", pm)]):
    dy, dx = f.field[..., 0] - ys, f.field[..., 1] - xs
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1
    val = np.clip(np.hypot(dy, dx) / 12, 0, 1)
    rgb = plt.cm.hsv(hue)[..., :3] * val[..., None]
    ax.imshow(rgb)
    ax.set_title(f"offsets, {name}", fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# ## 3. Removing an object with PatchMatch
#
# To fill a hole, the patches that overlap the hole are matched to patches lying entirely in the
# known region, and every hole pixel becomes the average of what the overlapping matched patches
# put there (a "vote"); matching and voting repeat, since the matches improve as the fill does.
# To get large structures right this runs **coarse to fine** (Wexler et al. 2007, the algorithm
# behind Photoshop's Content-Aware Fill that PatchMatch made interactive): on a small copy of the
# image the hole is a few patches wide and gets filled first; each finer level starts from the
# coarser field. Let us remove the rocket from its launch pad.

# %%
rocket = load_photo("rocket", (128, 192))
rocket_mask = torch.zeros(1, 128, 192)
rocket_mask[:, 34:119, 88:105] = 1  # the rocket, by hand (rows 34-118, columns 88-104)
t0 = time.perf_counter()
removed = inpaint_patchmatch(rocket, rocket_mask, patch_size=7, seed=0)
t_removal = time.perf_counter() - t0
fills = {"photo": rocket, "hole": rocket * (1 - rocket_mask) + rocket_mask,
         "mean colour": mean_fill(rocket, rocket_mask), "biharmonic": biharmonic_inpaint(rocket, rocket_mask),
         "PatchMatch": removed}
print(f"PatchMatch filled {int(rocket_mask.sum())} pixels in {t_removal:.1f} s")
fig = show_images(list(fills.values()), value_range=(0, 1), titles=list(fills), ncols=5, scale=2.6)

# %% [markdown]
# The flat and the smooth fills leave a ghost of the rocket; PatchMatch continues the sky's
# gradient and its grain, and the ground at the bottom, from patches of the same photo. Its limits
# are the other half of this course's story: it can only copy what the image contains (no face
# completes from a face-less image, the contrast Iizuka et al. 2017 draw in their abstract), and it knows nothing about what objects
# look like. On the held-out centre holes:

# %%
pm_scores = compare({"PatchMatch": classical_baselines(biharmonic=False)["PatchMatch"]}, ce_test)
print(format_table({**baselines, **pm_scores}, baseline="mean colour"))

# %% [markdown]
# On these texture-rich crops, copying is exactly the right idea: PatchMatch beats the mean colour
# by a wide margin and matches the smooth biharmonic fill in PSNR while keeping some texture.
#
# ## 4. The Context Encoder
#
# Pathak et al. (CVPR 2016) train a network to paint the centre of an image from its context:
#
# * the **encoder** (DCGAN's discriminator) turns the 128x128 context into 512 feature maps of 4x4;
# * a **bottleneck** mixes information across the whole image. The paper proposes a
#   *channel-wise fully connected* layer: each of the m = 512 maps (n x n = 4x4) is fully
#   connected to itself only, m n^4 weights instead of the m^2 n^4 of a fully connected layer,
#   followed by a 1x1 convolution that mixes the channels. The released Torch code
#   (`pathak22/context-encoder`, `train.lua`) instead trains with a 4x4 convolution to
#   `nBottleneck` units, a full fully connected layer: 4000 in the README's training command
#   (`train.lua`'s own default is 100);
# * the **decoder** (DCGAN's generator) paints the 64x64 centre.

# %%
official = ContextEncoder(128, 64, 64, bottleneck="fc", n_bottleneck=4000)
channelwise = ContextEncoder(128, 64, 64, bottleneck="channelwise")
print(f"Context Encoder at 128 px, README's 4000-unit bottleneck:    {parameter_count(official):>12,} parameters")
print(f"Context Encoder at 128 px, channel-wise fully connected:    {parameter_count(channelwise):>12,} parameters")
print(f"  the bottleneck alone: {parameter_count(official.bottleneck):,} vs {parameter_count(channelwise.bottleneck):,}; "
      f"the whole model {parameter_count(official) / parameter_count(channelwise):.1f}x smaller")
features = torch.zeros(1, 3, 128, 128)
channelwise.eval()
print(f"  input      -> {tuple(features.shape)}")
for name, part in [("encoder", channelwise.encoder), ("bottleneck", channelwise.bottleneck), ("decoder", channelwise.decoder)]:
    features = part(features)
    print(f"  {name:<10} -> {tuple(features.shape)}")

# %% [markdown]
# The channel-wise layer carries information from every position of a map to every other (the
# hole's features can depend on the whole context) with about 12 times fewer parameters than the
# model with the fully connected bottleneck. The quick mode below uses it with widths 16 at 32x32 px.
#
# ### Why L2 alone paints blur
#
# With only an L2 (mean squared error) loss, the best prediction for a hole is the **average** of
# all the completions that are plausible for that context. A tiny example: a striped texture whose
# stripes, inside the hole, could equally well be at phase 0 or shifted by half a period. Each
# guess is a sharp, plausible image; their average is flat grey.

# %%
xline = torch.arange(16.0)
phase_a = torch.sign(torch.sin(xline * np.pi / 4 + 0.1))  # +-1 stripes, 8 px period
phase_b = -phase_a  # the same stripes, half a period further
mean_guess = (phase_a + phase_b) / 2
expected_l2 = lambda guess: 0.5 * ((guess - phase_a) ** 2).mean() + 0.5 * ((guess - phase_b) ** 2).mean()
for name, guess in [("sharp guess (phase 0)", phase_a), ("average of both (grey)", mean_guess)]:
    print(f"{name:<24} expected L2 {float(expected_l2(guess)):.2f}   contrast {float(guess.abs().mean()):.2f}")
assert expected_l2(mean_guess) < expected_l2(phase_a)

# %% [markdown]
# The grey average has half the expected L2 error of either sharp answer, so an L2-trained network
# learns to paint grey, the blur Pathak et al. (2016, Sec. 3.2) describe for L2 alone. An **adversarial** loss changes the target:
# a discriminator learns to tell painted regions from real ones, and the encoder-decoder is
# rewarded for fooling it, which a flat average does not. The Context Encoder's loss is
#
# $$ \mathcal{L} = \lambda_{rec} \mathcal{L}_{rec} + \lambda_{adv} \mathcal{L}_{adv}, \qquad
#    \lambda_{rec} = 0.999,\ \lambda_{adv} = 0.001, $$
#
# where $\mathcal{L}_{rec}$ is the L2 error on the predicted centre with the known band around the
# hole weighted 10 times more (`overlapL2Weight = 10` in `train.lua`), and $\mathcal{L}_{adv}$ the
# generator's GAN loss against a discriminator that sees only the centre. The L2 term still decides
# the colours and the layout; the small adversarial term sharpens.

# %%
w = overlap_weights(16, 2, 12)
print(f"L2 weights of a 16x16 centre with a 2 px band: hole {w[0, 0, 8, 8]:g}, band {w[0, 0, 0, 8]:g}")

# %% [markdown]
# ### Training: L2 only, and L2 + adversarial
#
# A controlled experiment: first an encoder-decoder is trained for `PRETRAIN` steps with L2 only
# on images with centre holes; then two copies continue for `FINETUNE` more steps each, one with L2
# only, the other with 0.999 L2 + 0.001 adversarial loss against a fresh discriminator (the
# generator's learning rate is 10x the discriminator's, as in `train.lua`). Same data, same number
# of generator updates, only the loss differs. (`train.lua` trains the adversarial model from
# scratch; the shared start keeps this comparison within a CPU budget. `python -m course_lib.train
# context_encoder` trains it the official way.)

# %%
WIDTH = by_mode(quick=16, gpu=64, full=64)
PRETRAIN, FINETUNE = by_mode(quick=(300, 250), gpu=(3_000, 3_000), full=(10_000, 20_000))
BATCH = by_mode(quick=16, gpu=64, full=64)
BOTTLENECK = by_mode(quick="channelwise", gpu="fc", full="fc")
train_set = inpainting_dataset(images, context_encoder_mask_fn(SIZE), seed=0, value_range=value_range)
torch.manual_seed(0)
start = ContextEncoderTask(ContextEncoder(SIZE, WIDTH, WIDTH, bottleneck=BOTTLENECK), adversarial=False)
pre = Trainer(start, train_set, TrainConfig(steps=PRETRAIN, batch_size=BATCH, log_every=25)).fit()
print(f"shared start: {PRETRAIN} steps with L2 in {pre.seconds:.0f} s, L2 {pre.last('G/l2'):.4f}")
tasks, histories = {}, {}
for name, adversarial in [("CE, L2 only", False), ("CE, L2 + adversarial", True)]:
    torch.manual_seed(1)
    task = ContextEncoderTask(copy.deepcopy(start.G), adversarial=adversarial, ndf=WIDTH)
    histories[name] = Trainer(task, train_set, TrainConfig(steps=FINETUNE, batch_size=BATCH, log_every=25, seed=1)).fit()
    tasks[name] = task
    print(f"{name:<22} {FINETUNE} more steps in {histories[name].seconds:4.0f} s, L2 {histories[name].last('G/l2'):.4f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(pre.value_steps["G/l2"], pre.values["G/l2"], color="grey", label="shared start (L2)")
for name, h in histories.items():
    axes[0].plot([PRETRAIN + s for s in h.value_steps["G/l2"]], h.values["G/l2"], label=name)
axes[0].set_title("overlap-weighted L2 on the centre", fontsize=9)
axes[0].set_xlabel("step")
axes[0].legend(fontsize=8)
h = histories["CE, L2 + adversarial"]
plot_history(h, keys=["D/loss", "G/adv"], ax=axes[1])
axes[1].set_title("adversarial run: D's loss and G's GAN loss (x 0.001 in G's loss)", fontsize=9)
fig.tight_layout()

# %% [markdown]
# ## 5. Results inside the holes
#
# The held-out centre holes, all methods side by side:

# %%
methods = {**classical_baselines(), **{name: t.inpaint for name, t in tasks.items()}}
scores = compare(methods, ce_test)
print(format_table(scores, baseline="mean colour", title=f"centre holes, {len(ce_test['image'])} held-out images"))
for name in tasks:
    assert_beats(scores, name, "mean colour")

# %%
# Detail = mean |Laplacian| inside the hole, away from its edge, as a share of the truth's. The
# Laplacian also counts the period-2 checkerboard of the decoder's stride-2 transposed convolutions,
# so the second column measures it after a 2x2 box filter, which flattens any period-2 pattern.
def detail(images, ignore_period_2=False):
    return float(high_frequency_energy(images, ce_test["mask"], ignore_period_2=ignore_period_2).mean())


sharp = {name: detail(s.outputs) for name, s in scores.items()}
coarse = {name: detail(s.outputs, ignore_period_2=True) for name, s in scores.items()}
truth_sharp, truth_coarse = detail(ce_test["image"]), detail(ce_test["image"], ignore_period_2=True)
print(f"detail inside the hole, as a share of the truth's ({truth_sharp:.3f} and {truth_coarse:.3f})")
print(f"  {'':<22} {'all |Laplacian|':>16} {'period 2 removed':>17}")
for name in scores:
    print(f"  {name:<22} {sharp[name] / truth_sharp:>16.0%} {coarse[name] / truth_coarse:>17.0%}")
assert sharp["CE, L2 only"] < sharp["CE, L2 + adversarial"]
assert scores["CE, L2 only"].psnr > scores["CE, L2 + adversarial"].psnr

# %%
show = slice(0, 8)
fig = show_rows({"input": ce_test["image"][show] * (1 - ce_test["mask"][show]),
                 **{name: scores[name].outputs[show] for name in ["mean colour", "PatchMatch", *tasks]},
                 "truth": ce_test["image"][show]}, value_range=(-1, 1), scale=1.3)

# %% [markdown]
# Both Context Encoders beat the mean colour: they have learnt to continue the colours and coarse
# shapes of the context. In a CPU-sized run they do not yet reach the classical methods on these
# small, texture-rich images (biharmonic inpainting and PatchMatch are strong here); the papers
# train for days on a GPU. The comparison between the two is the point: the model trained with
# L2 only has the better PSNR and the *less* detail: it paints the average of what could be there.
# Its plain |Laplacian| can still exceed PatchMatch's, because that measure also counts the faint
# checkerboard of the decoder's transposed convolutions (zoom into its fills); the second column,
# with every period-2 pattern removed, counts only texture coarser than 2 px. Adding the adversarial loss
# (weighted only 0.001!) brings texture back and costs some L1 and PSNR, because a sharp guess that
# is not exactly the truth is penalised twice by a pixel-wise metric (the stripes above). This is
# why inpainting papers report PSNR and SSIM *and* show pictures, and why the capstone does both.
#
# The Context Encoder has a weakness that Iizuka et al. (2017) address: the discriminator looks at the whole
# centre at once, so the supervision of local detail is weak, and the network only fills a fixed
# square. Lecture 09's Global & Local answers both: a fully convolutional network with dilated
# convolutions for holes anywhere, and a second, *local* discriminator.

# %% [markdown]
# ## 6. The shipped checkpoint: a Context Encoder trained well past the quick run
#
# The course ships a Context Encoder trained much longer than the cells above,
# `pretrained.load("context_encoder")`: 64x64 crops of the bundled photos (no textures), the centre
# hole of `train.lua` (28x28 inside the 32x32 centre it predicts), encoder and decoder widths 32,
# the channel-wise bottleneck, and the overlap-weighted L2 loss only (the "L2 loss" column of the
# paper's Fig. 6). `pretrained.info` records how it was built. Beside the in-hole L1 and PSNR we
# measure the fill's **colour cast**: per image, the largest difference over R, G, B between the
# mean colour of the fill and of the truth inside the hole (0 = right on average in every channel).

# %%
from course_lib import pretrained
from course_lib.inpainting.evaluate import show_comparison
from course_lib.pretrained.inpainting_specs import ce_held_out, hole_colour_error

shipped = pretrained.load("context_encoder")
info = pretrained.info("context_encoder")
print(f"{info['description']}\n  {info['steps']} steps, batch {info['batch_size']}, {info['loss']}, {info['optimizer']}; "
      f"{info['bytes'] / 2**20:.2f} MiB ({info['dtype']}), built in {info['wall_s'] / 60:.1f} min on {info['machine']}")
test64 = ce_held_out()


def at_quick_size(quick: ContextEncoderTask):
    """A quick-run network was built for SIZE px (its bottleneck fixes the size): resize in and out."""
    def method(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        small = torch.nn.functional.interpolate(image, size=SIZE, mode="bilinear", antialias=True, align_corners=False)
        small_mask = context_encoder_mask_fn(SIZE)(None)[None].expand(len(image), -1, -1, -1)
        filled = quick.inpaint(small * (1 - small_mask), small_mask)
        return torch.nn.functional.interpolate(filled, size=image.shape[-2:], mode="bilinear", align_corners=False)
    return method


shipped_scores = compare({"mean colour": mean_fill,
                          **{f"quick-run {name}": at_quick_size(t) for name, t in tasks.items()},
                          "shipped CE (L2)": shipped.inpaint}, test64)
print(format_table(shipped_scores, baseline="mean colour",
                   title=f"{len(test64['image'])} held-out 64x64 photo crops, centre hole"))
cast = {name: float(hole_colour_error(s.outputs, test64["image"], test64["mask"]).mean())
        for name, s in shipped_scores.items()}
print("colour cast in the hole (largest |mean(fill - truth)| over R, G, B, 0-1 scale):",
      ", ".join(f"{name} {v:.3f}" for name, v in cast.items()))
ship, base = shipped_scores["shipped CE (L2)"], shipped_scores["mean colour"]
print(f"shipped CE vs mean colour: L1 {ship.l1:.4f} vs {base.l1:.4f} ({ship.l1 / base.l1:.2f}x), "
      f"PSNR {ship.psnr:.2f} vs {base.psnr:.2f} dB ({ship.psnr - base.psnr:+.2f} dB)")
assert_beats(shipped_scores, "shipped CE (L2)", "mean colour")
assert cast["shipped CE (L2)"] < cast["mean colour"]

# %%
fig = show_comparison(shipped_scores, test64, indices=[0, 1, 2, 3, 4, 5],
                      suptitle="in-hole L1 / PSNR: column titles over all held-out crops, below each image for that image")

# %% [markdown]
# **What the shipped network shows.** The quick runs were trained at `SIZE` px on photo and tinted
# texture crops for a few hundred steps; applied to these crops (resized to their size and back)
# they already beat the mean colour, but their fills are blocky (a small network's output
# enlarged) and carry a colour cast about twice the shipped one's (printed above; see the
# blue-green patch in the rocket's sky). The shipped Context Encoder, trained with L2 only on
# photo crops for longer, beats the mean colour in the hole on L1 and PSNR by a wider margin, and
# its fill matches the truth's mean colour much better than the mean colour of the context does
# (all asserted, margins printed): it continues the colours and the large
# shapes of the context (the edge of the cup, the shading of the fur). Like every L2-trained
# model it paints a blur towards the centre of the hole: the mean of the plausible fillings
# (section 4). The adversarial loss that would sharpen it is what the quick comparison above
# demonstrates; the shipped checkpoint leaves it out, so that its colours and errors can be
# trusted as a reference.
#
# ## Summary
#
# * Masks: 1 = hole. Methods are judged only inside the hole, against the mean-colour fill.
# * PatchMatch finds a nearly exact nearest-neighbour field with random guesses, propagation and
#   random search; voting coarse to fine fills a hole with copied texture, but only with what the
#   image already contains.
# * The Context Encoder encodes the context, mixes it across positions with a (channel-wise) fully
#   connected bottleneck and decodes the centre. L2 alone predicts the mean of the plausible
#   fillings, a blur; an adversarial term (0.001 vs 0.999) restores texture at some cost in PSNR.
# * Trained longer on photo crops (the shipped checkpoint, section 6), an L2 Context Encoder beats
#   the mean colour clearly inside the hole and matches the truth's colour, still as a blur.
#
# **Next:** the lab (`labs/08_inpainting_classical_ce_lab.ipynb`): the masked reconstruction loss,
# the mean-colour baseline and the Context Encoder's loss, graded as you go.
