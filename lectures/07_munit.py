# %% [markdown]
# # 07 · MUNIT: one input, many outputs
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/07_munit.ipynb)
#
# CycleGAN (lecture 06) maps each input to *one* output. Many translations have many right answers:
# a sketch of a shoe can become a red leather shoe or a blue canvas one; a summer scene can become
# a light frost or a blizzard. MUNIT (Huang, Liu, Belongie & Kautz, "Multimodal Unsupervised
# Image-to-Image Translation", ECCV 2018) learns such one-to-many translations from unpaired data.
# In this lecture you will
#
# 1. see a domain whose translations are genuinely many (and measure how many);
# 2. split an image into a **content** code and a **style** code, and meet the AdaIN decoder that
#    joins them (Huang, Liu, Belongie and Kautz, ECCV 2018);
# 3. distinguish within-domain reconstruction from cross-domain translation, and see why MUNIT
#    reconstructs *codes* (latent reconstruction) instead of images;
# 4. train MUNIT and a CycleGAN on the same data; draw several outputs for one input, copy the
#    style of a reference image, and move a slider through the style space;
# 5. measure diversity against CycleGAN's single output while checking that the content stays.
#
# **Time:** about 2.5 minutes on a laptop CPU (quick mode). The lab (`labs/07_munit_lab.ipynb`)
# asks you to write the AdaIN block, the latent losses and the style sampling.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="07_munit")

# %%
import inspect

import matplotlib.pyplot as plt
import torch

from course_lib import by_mode
from course_lib.data.unpaired import ShapesToTextures, foreground_mask, mask_iou
from course_lib.train import TrainConfig, Trainer
from course_lib.translation import cyclegan, munit
from course_lib.translation.munit import MUNITTask
from course_lib.viz import plot_history, show_images, show_rows
from course_lib.widgets import StyleCodeExplorer

# %% [markdown]
# ## 1. When one output is not enough
#
# Our two domains: **A**, sketches of shapes (a dark outline filled light grey), and **B**,
# textured objects: the same kinds of shapes, each painted with a texture (solid, stripes,
# checker or dots) and two colours chosen freely. Training sees unpaired samples. Because the data
# is procedural, we can render *the same shape* in several styles and see what "all the right
# answers" to one sketch look like:

# %%
size = by_mode(quick=munit.PRESETS["quick"].size, gpu=128, full=128)
train_set = ShapesToTextures(length=5000, size=size, seed=0)
held_set = ShapesToTextures(length=64, size=size, seed=1, paired=True)
held_out = held_set.pairs()
batch = torch.utils.data.default_collate([train_set[i] for i in range(6)])
fig = show_rows({"A: sketches": batch["A"], "B: textured": batch["B"]}, value_range=(-1, 1),
                suptitle="a training batch (unpaired)")
truth = torch.stack([held_set.true_variations(i, 6) for i in range(16)])  # (16 sketches, 6 right answers)
fig = show_images(torch.cat([held_out["A"][:1], truth[0]]), value_range=(-1, 1),
                  titles=["a sketch"] + [f"right answer {k + 1}" for k in range(6)])

# %% [markdown]
# We measure **diversity** as the mean L1 distance between outputs made from the same input (over
# all pairs of outputs, averaged over inputs). A deterministic translation scores exactly 0. The
# true answers score:

# %%
true_diversity = munit.mean_pairwise_distance(truth)
print(f"diversity of the true translations (16 sketches x 6 styles): {true_diversity:.3f}")

# %% [markdown]
# ## 2. Content and style
#
# MUNIT's assumption (Huang et al. 2018, Sec. 3.1): an image is a **content** code $c$
# that both domains share (here: which shape, where, how large, turned how far) plus a **style**
# code $s$ that belongs to one domain (here: texture and colours; for sketches, very little). Each
# domain gets an auto-encoder:
#
# * a **content encoder** $E^c$: convolutions that halve the image twice, then residual blocks, all
#   with *instance norm*, which removes each channel's mean and variance and with them much of the
#   style; the content code is a spatial map (256 channels x 64 x 64 for a 256x256 image);
# * a **style encoder** $E^s$: convolutions *without* normalisation (the statistics are the style),
#   global average pooling and a 1x1 convolution to 8 numbers;
# * a **decoder**: residual blocks whose normalisation is **AdaIN** (lecture 03), with the means and
#   standard deviations computed from the style code by an MLP, then upsampling back to the image.
#
# Translating A -> B is then: keep A's content, take a B style, decode with B's decoder:
# $x_{A\to B} = G_B(E^c_A(x_A), s_B)$, with $s_B$ drawn from the prior $\mathcal{N}(0, I)$ for a
# random output or encoded from a reference image for a chosen one. The decoder's residual block:

# %%
print(inspect.getsource(munit.AdaINResBlock.forward))

# %% [markdown]
# `course_lib.translation.munit` follows the official implementation (NVlabs/MUNIT) and its
# `edges2shoes_folder.yaml` configuration: dim 64, style 8, two downsamplings, four residual blocks,
# MLP width 256, and a discriminator with four 4x4 stride-2 layers applied at three scales. Counted
# part by part:

# %%
for part, n in munit.describe(MUNITTask()).items():
    print(f"{part:<16} {n:>12,}")

# %% [markdown]
# Almost a third of each decoder's parameters sit in the MLP's last layer: it outputs the 4,096
# AdaIN means and standard deviations of the eight normalisations (four blocks x two AdaINs x 256
# channels x 2).
#
# ## 3. Reconstruction within a domain, translation across domains
#
# The two halves of Huang et al.'s model overview (their Fig. 2), as losses (all L1, weights of the official configuration):
#
# **(a) Within-domain reconstruction.** Each auto-encoder must reproduce its input from its own
# codes: $\lVert G_A(E^c_A(x_A), E^s_A(x_A)) - x_A\rVert_1$, weight 10 (and the same for B).
#
# **(b) Cross-domain translation and latent reconstruction.** Take A's content $c_A$ and a random
# style $s_B \sim \mathcal{N}(0, I)$, decode $x_{AB} = G_B(c_A, s_B)$, and encode the result again with
# B's encoders. The content must come back ($\lVert E^c_B(x_{AB}) - c_A\rVert_1$, weight 1) and so must
# the random style ($\lVert E^s_B(x_{AB}) - s_B\rVert_1$, weight 1). Meanwhile B's discriminator judges
# $x_{AB}$ (LSGAN, weight 1, summed over its three scales).
#
# The style reconstruction is what makes the output *depend* on the style: if the decoder ignored
# $s_B$, no encoder could read it back. CycleGAN's image cycle $x \to G(x) \to F(G(x)) \approx x$
# is replaced by cycles in the latent spaces, which do not ask the translation to keep every
# pixel's information (the problem of lecture 06's flowers); the explicit image cycle is an
# option (`recon_x_cyc_w`, 0 by default). Adam with learning rate 1e-4, betas (0.5, 0.999).

# %%
print(inspect.getsource(munit.latent_reconstruction_losses))

# %% [markdown]
# ## 4. Training MUNIT, and a CycleGAN for comparison
#
# Quick mode: 32x32 images, 16 base filters, *one* downsampling in the content encoder (two would
# leave a coarse 8x8 content map), two residual blocks, a two-scale discriminator of three layers
# (three scales of four layers need images of at least 64 pixels), 250 steps at a higher learning
# rate. Full mode: 128x128 images and the paper's configuration. The CycleGAN is narrower still
# (8 filters) because we only need its one answer per sketch.

# %%
p = munit.preset("quick")
steps = by_mode(quick=p.steps, gpu=10_000, full=100_000)
torch.manual_seed(0)
# gpu mode: the paper's architecture at half width on 128-px images (a Colab T4 in about 10 minutes)
gpu_preset = munit.Preset(size=128, dim=32, n_downsample=2, n_res=4, mlp_dim=128, dis_dim=32, dis_layers=4, dis_scales=3,
                          steps=steps, batch_size=1, lr=1e-4, lr_step=None)
task = by_mode(quick=p, gpu=gpu_preset, full=munit.PRESETS["paper"]).task(lr_step=None if course_lib.is_quick() else 100_000)
config = TrainConfig(steps=steps, batch_size=by_mode(quick=p.batch_size, gpu=1, full=1), log_every=by_mode(quick=25, gpu=500, full=500))
history = Trainer(task, train_set, config).fit()
print(f"MUNIT: {steps} steps in {history.seconds:.0f} s; image reconstruction L1 "
      f"{history.values['G/recon_x'][0]:.3f} -> {history.last('G/recon_x'):.3f}, content "
      f"{history.values['G/recon_c'][0]:.3f} -> {history.last('G/recon_c'):.3f}, style "
      f"{history.values['G/recon_s'][0]:.3f} -> {history.last('G/recon_s'):.3f} "
      f"(a style encoder that always answers 0 would score 2 x E|N(0,1)| = {2 * (2 / torch.pi) ** 0.5:.2f})")
fig = plot_history(history, keys=["G/recon_x", "G/recon_c", "G/recon_s", "G/adv", "D/loss"])

# %% [markdown]
# The image and content reconstructions fall quickly. The style reconstruction is the slowest term:
# in a quick run it ends only a little below what an encoder that ignores the image would score.
# Keep that in mind for section 6.

# %%
cg = cyclegan.preset("quick")
cg_steps = by_mode(quick=120, gpu=5_000, full=40_000)
torch.manual_seed(0)
cycle_task = cyclegan.CycleGANTask(ngf=by_mode(quick=8, gpu=32, full=64), ndf=by_mode(quick=8, gpu=32, full=64), n_blocks=6,
                                   lr=by_mode(quick=cg.lr, gpu=2e-4, full=2e-4))
cg_history = Trainer(cycle_task, train_set, TrainConfig(steps=cg_steps, batch_size=cg.batch_size,
                                                        lr_decay_start=cg_steps // 2, log_every=25)).fit()
print(f"CycleGAN: {cg_steps} steps in {cg_history.seconds:.0f} s")

# %% [markdown]
# ## 5. One input, several outputs
#
# Eight style codes drawn from $\mathcal{N}(0, I)$, the same eight for every sketch (so each column
# shares a style), next to CycleGAN's one answer:

# %%
n_styles = 8
outputs = task.multimodal(held_out["A"], n_styles, "AtoB", generator=torch.Generator().manual_seed(0))
cycle_out = cycle_task.translate(held_out["A"], "AtoB")
fig = show_rows({"sketch": held_out["A"][:6], **{f"MUNIT s{k}": outputs[:6, k].clamp(-1, 1) for k in range(4)},
                 "CycleGAN": cycle_out[:6].clamp(-1, 1)}, value_range=(-1, 1))

# %% [markdown]
# ## 6. Example-guided translation
#
# To get a *particular* look, encode a reference B image with B's style encoder and decode the
# sketch's content with that code. Did the reference's style come across? A fair test must not
# reward an output for being an average colour, so we compare each output's object colour (the
# average RGB inside the sketch's shape) with the object colour of *its own* reference and with
# those of the *other* references: only a transfer of style makes the first error smaller. For
# scale, the outputs for the style code 0 (the prior's mean, no reference at all).

# %%
n = 32
sketches, references = held_out["A"][:n], held_out["B"][n:2 * n]
codes = task.style_of(references, "B")
guided = task.translate(sketches, "AtoB", style=codes)
neutral = task.translate(sketches, "AtoB", style=torch.zeros(n, 8))
object_colour = lambda images, masks: (images * masks).sum((2, 3)) / masks.sum((2, 3))  # (n, 3)
reference_colour = object_colour(references, held_out["mask"][n:2 * n])
errors = (object_colour(guided, held_out["mask"][:n])[:, None] - reference_colour[None]).abs().mean(-1)  # (n, n)
own = float(errors.diag().mean())
others = float((errors.sum() - errors.diag().sum()) / (n * n - n))
zero_code = float((object_colour(neutral, held_out["mask"][:n]) - reference_colour).abs().mean())
print(f"object colour error vs its own reference {own:.3f}, vs the other references {others:.3f}; "
      f"style code 0 vs the references {zero_code:.3f}")
guided_rgb = object_colour(guided, held_out["mask"][:n])
corr = [float(torch.corrcoef(torch.stack([guided_rgb[:, c], reference_colour[:, c]]))[0, 1]) for c in range(3)]
print("correlation of output and reference object colour, R G B:", " ".join(f"{c:.2f}" for c in corr))
print(f"spread of the reference style codes: std {float(codes.std(0).mean()):.2f} per dimension (the prior's: 1)")
assert own < others
fig = show_rows({"sketch": sketches[:6], "reference": references[:6], "guided": guided[:6].clamp(-1, 1),
                 "style code 0": neutral[:6].clamp(-1, 1)}, value_range=(-1, 1))

# %% [markdown]
# Each output is closer to its own reference's colour than to the others', so the style code does
# carry the reference's look; but only part of it, and in the figure the effect is subtle (the
# guided outputs differ from the neutral ones more than from each other). The per-channel
# correlations show which part (in the quick run, the red-blue axis of the hue much more than
# green), and the codes of real images are bunched near 0, far narrower than the prior the
# decoder was trained to accept: both are the slow style reconstruction of section 4 at work.
# Textures do not come across yet. The end of section 8 shows how much of the gap a longer
# training closes.
#
# ## 7. Exploring the style space
#
# The style code has 8 numbers. Moving one of them with the others fixed changes the output
# smoothly (the decoder's MLP is continuous). Not every dimension matters equally to a briefly
# trained decoder, so we sweep the three dimensions that change this sketch's output most, over
# the prior's range (-3 to 3 standard deviations). In a live notebook the explorer below puts a
# slider on every dimension (`course_lib.widgets.StyleCodeExplorer`; the computation is
# `munit.decode_with_style`).

# %%
sketch = held_out["A"][3]
values = torch.linspace(-3, 3, 7)


def swept(dim: int) -> torch.Tensor:
    codes = torch.zeros(len(values), 8)
    codes[:, dim] = values
    return torch.stack([munit.decode_with_style(task, sketch, code) for code in codes]).clamp(-1, 1)


sweeps = {dim: swept(dim) for dim in range(8)}
effect = {dim: float((images[-1] - images[0]).abs().mean()) for dim, images in sweeps.items()}
top = sorted(effect, key=effect.get, reverse=True)[:3]
print("output change from -3 to +3, per style dimension:", {d: round(e, 3) for d, e in effect.items()})
fig = show_images(torch.cat([sweeps[d] for d in top]), value_range=(-1, 1), ncols=len(values), scale=1.2,
                  titles=[f"s[{d}] = {float(v) + 0.0:+.0f}" for d in top for v in values])

# %%
# NBVAL_IGNORE_OUTPUT
StyleCodeExplorer(task, sketch)

# %% [markdown]
# ## 8. Diversity, and does the content stay?
#
# Diversity is only worth having if the outputs still show the input's shape. We measure the
# content by the shape: threshold each output against the dark background of domain B and compare
# that silhouette with the sketch's true shape (intersection over union, IoU; the real textured
# images score about 0.9 on it, an empty or a shape-agnostic blob far less). The bound we hold MUNIT
# to: a mean IoU of at least 0.5 for every one of its style codes.

# %%
iou = lambda images: float(mask_iou(foreground_mask(images), held_out["mask"]).mean())
munit_iou = [iou(outputs[:, k]) for k in range(n_styles)]
cycle_twice = torch.stack([cycle_out, cycle_task.translate(held_out["A"], "AtoB")], 1)  # a second run: same output
rows = {
    "real textured shapes": (true_diversity, iou(held_out["B"])),
    "CycleGAN": (munit.mean_pairwise_distance(cycle_twice), iou(cycle_out)),
    "MUNIT, 8 random styles": (munit.mean_pairwise_distance(outputs), sum(munit_iou) / n_styles),
}
print(f"{'':<26}{'diversity':>10}{'shape IoU':>11}")
for name, (div, agreement) in rows.items():
    print(f"{name:<26}{div:10.3f}{agreement:11.3f}")
print(f"MUNIT's worst style code: IoU {min(munit_iou):.3f} (bound 0.5)")
assert rows["MUNIT, 8 random styles"][0] > rows["CycleGAN"][0]
assert min(munit_iou) > 0.5

# %% [markdown]
# CycleGAN's generator is a function: the same sketch always gives the same picture, so its
# diversity is exactly zero, whatever the training (here it paints every shape in one colour: one
# mode of the data, chosen for all inputs). MUNIT's outputs for one sketch differ by about as much
# as real textured shapes do, and each of them keeps the sketch's shape above the stated bound.
# What this short run does not reach is the *texture* part of the style: its outputs vary mostly
# in colour, while stripes, checks and dots need more training (and larger images, where a
# texture period spans many pixels).
#
# ### The same MUNIT, trained longer
#
# The course ships this MUNIT trained with the same architecture on the same kind of data for much
# longer (`pretrained.load("munit")` returns a `MUNITTask` like `task`; `pretrained.info` says how
# it was built). Below, on the 32x32 held-out shapes the checkpoint is scored on, sketch $i$ is
# translated with the style code of reference $i$ (as in section 6). Two trivial answers frame the
# models: **style code 0** ignores the reference (its colour cannot follow it), and **copying the
# reference** has the reference's colour but not the sketch's shape. Each title gives the colour
# ratio (object colour error to its own reference / to the other references: about 1 when the
# colour ignores the reference, lower when it follows) and the shape IoU with the sketch.

# %%
from course_lib import pretrained
from course_lib.pretrained.unpaired_specs import colour_following, shapes_held_out, shape_iou

info = pretrained.info("munit")
print(f"shipped munit: {info['steps']} steps of {info['batch_size']}, lr {info['lr']} ({info['lr_schedule']}), "
      f"{info['resolution']} px, about {info['cpu_s'] / 60:.0f} CPU-minutes")
shipped = pretrained.load("munit")
held32 = shapes_held_out()  # the 32x32 held-out shapes (seed 1) the checkpoint is scored on
n = 32
sketches32, references32 = held32["A"][:n], held32["B"][n:2 * n]
columns = {"style code 0 (shipped)": shipped.translate(sketches32, "AtoB", style=torch.zeros(n, 8)),
           "copy the reference": references32}
if size == held32["A"].shape[-1]:  # gpu and full modes train at 128 px: their run does not fit here
    columns[f"quick MUNIT ({steps} steps)"] = task.translate(sketches32, "AtoB", style=task.style_of(references32, "B"))
columns["shipped MUNIT"] = shipped.translate(sketches32, "AtoB", style=shipped.style_of(references32, "B"))
scores = {name: {**colour_following(images, held32), "iou": shape_iou(images, held32)} for name, images in columns.items()}
for name, sc in scores.items():
    print(f"{name:<24} colour error: own reference {sc['own']:.3f}, others {sc['others']:.3f}, "
          f"ratio {sc['ratio']:.2f}   shape IoU {sc['iou']:.3f}")
ship = scores["shipped MUNIT"]
assert ship["ratio"] < scores["style code 0 (shipped)"]["ratio"] and ship["iou"] > scores["copy the reference"]["iou"]

# %%
heads = ["sketch"] + [f"{name}\ncolour ratio {scores[name]['ratio']:.2f}\nIoU {scores[name]['iou']:.2f}" for name in columns]
images, titles = [], []
for i in range(4):
    images += [sketches32[i]] + [v[i].clamp(-1, 1) for v in columns.values()]
    titles += heads if i == 0 else [""] * len(heads)
fig = show_images(torch.stack(images), value_range=(-1, 1), titles=titles, ncols=len(heads), scale=1.9)

# %% [markdown]
# Trained four times longer, the shipped MUNIT makes the effect of section 6 plain: its colour
# ratio is far below the quick run's (printed above), so each output now takes most of its own
# reference's colour (the magenta cross in the last row), while style code 0 paints every shape
# the same red-orange (ratio about 1). The shape stays: the shipped model's IoU with the sketch
# is at least the quick run's, far above copying the reference. What it still does not reproduce
# is the *texture*: two-colour references (stripes, checks) come out as a noisy mixture of both
# colours rather than as a pattern, and edges are soft, at 32x32 and within a few CPU-minutes.
#
# ## Summary
#
# * Many translations are one-to-many; a deterministic generator (pix2pix, CycleGAN) can only
#   produce one of the answers, and diversity 0.
# * MUNIT splits an image into a shared content code (instance-normalised, spatial) and a
#   domain-specific style code (8 numbers); the decoder injects the style through AdaIN parameters
#   computed by an MLP.
# * Training: within-domain image reconstruction (10), and for cross-domain translations with
#   random styles, content and style reconstruction (1 each) plus a multi-scale LSGAN (1).
# * Random style codes give several outputs; a reference image's style code gives a chosen one.
#
# Train at full size from the command line: `python -m course_lib.train munit --preset paper`
# (add `--data` for a folder with `trainA/` and `trainB/`, e.g. edges2shoes split into its two halves).
# **Next:** the lab.
