# %% [markdown]
# # 04 · pix2pix: paired translation with a conditional GAN
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/04_pix2pix.ipynb)
#
# A label map in, a photo out; edges in, a shoe out; a grey photo in, a colour one out. When the
# training data come in **pairs** (input, target), the obvious recipe is a network trained to
# reproduce the target pixel by pixel. pix2pix (Isola, Zhu, Zhou and Efros, CVPR 2017) shows why
# that recipe gives grey, blurry results and fixes it with a *conditional* GAN. In this lecture you
# will
#
# 1. meet the paired data sets of the course (labels -> facade, edges -> shapes, grey -> colour)
#    and the real ones (CMP Facades, maps, edges2shoes, Cityscapes);
# 2. see **why L1 alone produces grey averages** when the target is not determined by the input;
# 3. build the three parts of pix2pix (U-Net generator, PatchGAN discriminator, cGAN + L1 loss)
#    and check them against the reference implementation's numbers;
# 4. see what a *conditional* discriminator can judge that an unconditional one cannot;
# 5. train pix2pix and an L1-only model on procedural facades and compare them with a trivial
#    baseline;
# 6. run two small ablations: U-Net skips vs a plain encoder-decoder, and the patch size of the
#    discriminator (1x1, 16x16, 34x34, whole image);
# 7. see how pix2pix behaves at test time (dropout stays on, batch norm uses the test batch).
#
# **Time:** about 2 minutes on a laptop CPU (quick mode: 64x64 images, small networks, a few
# hundred steps). The lab (`labs/04_pix2pix_lab.ipynb`) asks you to write a U-Net level, the
# PatchGAN and both losses.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="04_pix2pix")

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from course_lib import by_mode, metrics, mode
from course_lib.data import labels_to_photo, try_download
from course_lib.data.paired import EdgesToShapes, GreyToColour, InMemory, ProceduralFacades
from course_lib.nn import PatchGAN, init_weights
from course_lib.receptive_field import layers_from_module, receptive_field
from course_lib.train import TrainConfig, Trainer
from course_lib.translation.pix2pix import (
    Pix2PixTask,
    UnetGenerator,
    colourfulness,
    format_scores,
    paired_scores,
    translate,
)
from course_lib.viz import plot_history, show_images, show_rows

# Quick mode: 64x64 facades and networks a CPU trains in seconds. GPU mode (one Colab T4): the
# paper's network widths at 128x128 on the real CMP Facades when they can be downloaded. Full mode:
# the paper's 256x256 U-Net 256 + 70x70 PatchGAN (batch size 1 as for CMP Facades).
cfg = by_mode(
    quick=dict(size=64, num_downs=6, ngf=16, batch=4, steps=300, ablation_steps=120, ablation_lr=5e-4),
    gpu=dict(size=128, num_downs=7, ngf=64, batch=4, steps=3000, ablation_steps=1000, ablation_lr=2e-4),
    full=dict(size=256, num_downs=8, ngf=64, batch=1, steps=40_000, ablation_steps=10_000, ablation_lr=2e-4),
)
print(cfg)

# %% [markdown]
# ## 1. Paired data
#
# pix2pix needs pairs. The course renders its own, deterministically from a seed (no download):
#
# * **labels -> facade**: label maps of wall, windows, doors, balconies, cornices, sills, shop
#   fronts and sky, coloured like the CMP Facade Database that pix2pix uses, rendered into
#   facades with brick or plaster, sunlight, shadows and noise;
# * **edges -> shapes**: shaded objects, and as input the output of an edge detector (Canny) on
#   them. This is how cheap paired data are made:
#   collect photos, compute their edges. pix2pix's edges2shoes was built this way (with HED edges);
# * **grey -> colour**: crops of the photos bundled with scikit-image, and their luminance.

# %%
facades = ProceduralFacades(length=400, size=cfg["size"], seed=0)
edges = EdgesToShapes(length=8, size=cfg["size"], seed=0)
grey = GreyToColour(length=8, size=cfg["size"], seed=0)
pairs = {
    "labels": torch.stack([facades[i]["input"] for i in range(4)]),
    "facade": torch.stack([facades[i]["target"] for i in range(4)]),
}
fig = show_rows(pairs, value_range=(-1, 1), scale=1.7)
fig = show_rows({"edges (Canny)": torch.stack([edges[i]["input"].expand(3, -1, -1) for i in range(4)]),
                 "shapes": torch.stack([edges[i]["target"] for i in range(4)]),
                 "grey": torch.stack([grey[i]["input"].expand(3, -1, -1) for i in range(4)]),
                 "colour": torch.stack([grey[i]["target"] for i in range(4)])}, value_range=(-1, 1), scale=1.7)

# %% [markdown]
# The real data sets of the paper load the same way once downloaded (GPU mode trains on the real
# facades when it can get them; nothing in quick mode touches the network). Each file holds the two images side by side, `A | B`:
#
# ```python
# from course_lib.data import PairedFolder, download
# root = download("facades", allow_unverified=True)        # 400 training pairs, 29 MB
# train = PairedFolder(root, "train", direction="BtoA", size=256, jitter=True)  # labels -> photo
# ```
#
# `jitter=True` is pix2pix's augmentation: resize to 286x286, take a random 256x256 crop, mirror
# half of the time. The command line trains on them: `python -m course_lib.train pix2pix --data
# facades --preset paper` (also `maps`, `edges2shoes`, `cityscapes`).
#
# ## 2. Why L1 alone gives grey averages
#
# The label map says where the windows are, not what colour the wall is. Our renderer draws the
# colour at random (ochre, brick red, cream, grey, pastel), so for one label map there are many
# correct facades. Here is one layout painted sixteen ways, all equally valid targets:

# %%
looks = facades.appearances(0, 16)
wall = facades[0]["labels"] == 1
median, mean = looks.median(0, keepdim=True).values, looks.mean(0, keepdim=True)
fig = show_images(torch.cat([looks[:6], median, mean]), value_range=(-1, 1), ncols=8, scale=1.5,
                  titles=[f"target {i + 1}" for i in range(6)] + ["median (L1)", "mean (L2)"])

# %% [markdown]
# A network trained with L1 must give *one* answer for this input. The constant that minimises
# the expected L1 distance to the possible targets is their per-pixel **median** (for L2: the
# **mean**). Averaged over many layouts, the median wall is much greyer than any real wall:

# %%
layouts = range(by_mode(quick=12, full=50))
chroma = {"a real painting": [], "median (L1 optimum)": [], "mean (L2 optimum)": []}
for i in layouts:
    looks_i, wall_i = facades.appearances(i, 16), facades[i]["labels"] == 1
    chroma["a real painting"].append(colourfulness(looks_i, wall_i))
    chroma["median (L1 optimum)"].append(colourfulness(looks_i.median(0, keepdim=True).values, wall_i))
    chroma["mean (L2 optimum)"].append(colourfulness(looks_i.mean(0, keepdim=True), wall_i))
wall_chroma = {k: sum(v) / len(v) for k, v in chroma.items()}
for name, value in wall_chroma.items():
    print(f"chroma of the wall, {name:<20} {value:.3f}")
assert wall_chroma["median (L1 optimum)"] < 0.6 * wall_chroma["a real painting"]

# %% [markdown]
# This is the "grey outputs" problem of colourisation (Zhang, Isola and Efros, "Colorful Image
# Colorization", ECCV 2016, motivating their classification loss): *different colours
# conflict (some want red, some want blue), and the result is grey*. Worse, wherever the target
# has texture whose position varies (brick joints, shadows), the average is a blur. More data or
# a bigger network cannot fix it: the L1 optimum *is* the grey blur. What is missing is a loss that
# says "pick one plausible answer". That is what a GAN's discriminator provides.
#
# ## 3. The three parts of pix2pix
#
# **Generator: a U-Net.** An encoder-decoder (4x4 stride-2 convs down to a 1x1 bottleneck and
# back) whose encoder layer $i$ is concatenated to decoder layer $n - i$. Input and output share
# their structure (the window edges are in the same place), and the skips carry it across
# without squeezing it through the bottleneck. `UnetGenerator` builds it recursively from
# `UnetSkipBlock`s; each returns `cat([x, up(inner(down(x)))])`. There is no noise input: the
# paper found G learned to ignore it, and kept **dropout** in the three innermost decoder blocks
# as the only noise. The full-size U-Net 256 (8 levels for 256x256) matches the reference:

# %%
with torch.device("meta"):  # build with shapes only: no memory, instant
    unet256 = UnetGenerator(3, 3, num_downs=8, ngf=64)
print(f"U-Net 256 (ngf 64, batch norm, dropout): {sum(p.numel() for p in unet256.parameters()):,} parameters "
      "(reference: 54,413,955)")

# %% [markdown]
# **Discriminator: a PatchGAN** that sees the **pair**: input and output stacked as 6 channels. It
# outputs a grid of scores, one per overlapping patch: a 256x256 pair gets 30x30 scores, each
# judging a 70x70 patch (lecture 01 computed that field). Judging patches assumes that pixels
# further apart than a patch are independent, the assumption of texture models (Markov random
# fields); the L1 term takes care of the low frequencies.

# %%
d70 = PatchGAN(6, ndf=64, n_layers=3, norm="batch")
scores = d70(torch.zeros(1, 6, 256, 256))
print(f"PatchGAN: {sum(p.numel() for p in d70.parameters()):,} parameters (reference: 2,768,705), "
      f"scores {tuple(scores.shape[-2:])}, receptive field {receptive_field(layers_from_module(d70)).size:g}x"
      f"{receptive_field(layers_from_module(d70)).size:g}")

# %% [markdown]
# **Objective.** D minimises $\tfrac12[\ell(D(x, y), 1) + \ell(D(x, G(x)), 0)]$ (binary
# cross-entropy on logits, halved to slow D down); G minimises
# $\ell(D(x, G(x)), 1) + \lambda \lVert y - G(x)\rVert_1$ with $\lambda = 100$. Adam, lr 2e-4,
# betas (0.5, 0.999), weights from N(0, 0.02), batch norm, and a learning rate that decays
# linearly to zero over the second half of training. `Pix2PixTask` is exactly that.
#
# ## 4. A conditional discriminator judges pairs
#
# An unconditional D sees only the output and asks "is this a facade?". A conditional D sees
# (labels, photo) and can ask "is this *the* facade for these labels?". To see the difference
# without training a whole GAN, train two small PatchGANs on one job: tell a real pair from a
# *mismatched* one (a real photo next to another facade's labels).

# %%
# GPU mode trains on the real CMP Facades when it can get them (a 35 MB download with a pinned
# sha256; labels_to_photo checks which folder holds the label maps); quick mode, and any mode
# offline, on the procedural facades.
real_facades = try_download("facades") if mode() == "gpu" else None
if real_facades is None:
    train_set = InMemory(facades, mirror=True)
    test_set = InMemory(ProceduralFacades(length=64, size=cfg["size"], seed=1))
else:  # 400 training pairs; 64 of the test pairs
    train_set = InMemory(labels_to_photo(real_facades, "train", cfg["size"]), mirror=True)
    test_set = InMemory(labels_to_photo(real_facades, "test", cfg["size"]), length=64)
train_x, train_y = train_set.tensors["input"], train_set.tensors["target"]
test_x, test_y = test_set.tensors["input"], test_set.tensors["target"]


def train_pair_judge(conditional: bool, steps: int = by_mode(quick=120, full=2000)) -> float:
    """Accuracy of a PatchGAN trained to tell real pairs from mismatched ones, on held-out pairs."""
    torch.manual_seed(0)
    D = init_weights(PatchGAN(6 if conditional else 3, ndf=by_mode(quick=8, full=64), n_layers=3))
    opt = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    judge = lambda x, y: D(torch.cat([x, y], 1) if conditional else y)  # noqa: E731
    for _ in range(steps):
        i = torch.randint(0, len(train_x), (8,))
        j = (i + torch.randint(1, len(train_x), (8,))) % len(train_x)  # another facade's photo
        real, wrong = judge(train_x[i], train_y[i]), judge(train_x[i], train_y[j])
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(wrong, torch.zeros_like(wrong)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    D.eval()
    with torch.no_grad():
        real = judge(test_x, test_y).mean((1, 2, 3))
        wrong = judge(test_x, test_y.roll(1, 0)).mean((1, 2, 3))
    return float(((real > 0).float().mean() + (wrong < 0).float().mean()) / 2)


accuracy = {name: train_pair_judge(cond) for name, cond in {"conditional D (sees the pair)": True,
                                                          "unconditional D (sees the photo)": False}.items()}
for name, acc in accuracy.items():
    print(f"{name:<34} tells real from mismatched pairs: {acc:.0%} (chance: 50%)")
assert accuracy["conditional D (sees the pair)"] > 0.6

# %% [markdown]
# The unconditional D is stuck at chance, by construction: both photos are real facades. In a
# GAN, such a D would happily accept a beautiful facade with the windows in the wrong places; only
# the L1 term would tie G's output to its input. The conditional D learns, in a few seconds, to
# check that windows and doors sit where the labels say.
#
# ## 5. Training pix2pix, and an L1-only model
#
# Both use the same U-Net (6 levels for 64x64 in quick mode) and the same schedule; the L1-only
# model is the paper's "L1" baseline: `gan_mode=None`, no discriminator. The trivial baseline
# predicts the mean training facade for every input.

# %%
def train(task: Pix2PixTask, steps: int) -> Pix2PixTask:
    torch.manual_seed(0)
    config = TrainConfig(steps=steps, batch_size=cfg["batch"], lr_decay_start=steps // 2, log_every=25,
                         sample_every=steps // 3)
    history = Trainer(task, train_set, config).fit()
    task.history = history
    print(f"{type(task.G).__name__}, {'L1 only' if task.D is None else 'cGAN + L1'}: {steps} steps in "
          f"{history.seconds:.0f} s")
    return task


net = dict(num_downs=cfg["num_downs"], ngf=cfg["ngf"], ndf=cfg["ngf"])
pix2pix = train(Pix2PixTask(**net), cfg["steps"])
l1_only = train(Pix2PixTask(**net, gan_mode=None), cfg["steps"])

# %%
outputs = {
    "mean training facade": train_y.mean(0, keepdim=True).expand_as(test_y),
    "L1 only": translate(l1_only.G, test_x),
    "pix2pix (cGAN + L1)": translate(pix2pix.G, test_x),
}
scores = {name: paired_scores(pred, test_y) for name, pred in outputs.items()}
# real photos of other facades: a third procedural set, or with the real data the training photos
other_real = (InMemory(ProceduralFacades(length=64, size=cfg["size"], seed=2)).tensors["target"]
              if real_facades is None else train_y[: len(test_y)])
scores["(real photos of other facades)"] = paired_scores(other_real, test_y)
print(format_scores(scores))
for name in ("L1 only", "pix2pix (cGAN + L1)"):
    assert scores[name]["L1"] < scores["mean training facade"]["L1"], f"{name} must beat the mean facade"
    assert scores[name]["PSNR"] > scores["mean training facade"]["PSNR"]

# %% [markdown]
# Read the table in two halves. **L1 and PSNR** (held-out pairs) measure closeness to *the*
# target; both models beat the mean facade by far, and the L1-only model is best at it: that is
# what it optimises. **Chroma, sharpness and the patch distance** measure whether the output looks
# like a photo at all. The last row calibrates them: real photos, but of *other* facades, so their
# L1 is poor while their chroma, sharpness and patch distance (which compares the distribution of
# 4x4 patches with the targets', lower is better) are what "real" scores. There pix2pix wins: the
# discriminator pushed it away from the grey median towards real colours and texture, at the cost
# of a slightly larger L1 (a real colour that is not *this* facade's colour counts as an error).

# %%
fig = show_rows({"labels": test_x[:8], **{k: v[:8] for k, v in outputs.items()}, "target": test_y[:8]},
                value_range=(-1, 1), scale=1.45)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
plot_history(pix2pix.history, keys=["G/l1", "G/gan", "D/loss"], ax=axes[0])
axes[0].set_title("pix2pix: L1 falls; D gets ahead (D's loss falls, G's GAN loss rises)", fontsize=9)
plot_history(l1_only.history, keys=["G/l1"], ax=axes[1])
axes[1].set_title("L1 only", fontsize=9)
fig.tight_layout()

# %% [markdown]
# With a few hundred steps on 64x64 images pix2pix is far from the paper's results, but the
# difference is already visible: the L1 model paints every facade the same beige, pix2pix picks
# colours, though not yet *one* colour per wall. The loss curves show a GAN at work: D's loss
# falls as it learns to spot the fakes, and G's adversarial loss rises accordingly, while the L1
# term keeps decreasing. (Full mode trains the paper's configuration.)
#
# ### The same two models, trained longer
#
# A few hundred steps show the mechanics, not what the two losses lead to. The course ships both
# models trained with the same recipe for longer (`course_lib.pretrained`; `pretrained.info` says
# how: data, steps, time). They are evaluated as the paper does, through `translate` (dropout
# on, batch statistics), on the same held-out layouts. Columns: the label map, the mean training
# facade (the trivial baseline), this notebook's quick pix2pix run, the shipped L1-only model, the
# shipped pix2pix model and the true photo. Each title gives L1 to the truth (closeness) and two
# realism measures: the patch distance to the real photos (sliced Wasserstein distance between
# their 4x4 patches, lower = more like real photos) and the chroma (real photos: printed below).

# %%
from course_lib import pretrained
from course_lib.pretrained.translation_specs import facades_held_out, pix2pix_scores

for name in ("pix2pix_l1", "pix2pix"):
    e = pretrained.info(name)
    print(f"shipped {name:<11} {e['loss']:<14} {e['steps']} steps, batch {e['batch_size']}, {e['resolution']} px, "
          f"{e['wall_s'] / 60:.0f} min on a CPU")
held_x, held_y = facades_held_out()  # the 64x64 held-out layouts the checkpoints are scored on
torch.manual_seed(0)  # dropout is on at test time: fix its draws
columns = {"mean facade": train_y.mean(0, keepdim=True).expand_as(held_y)
           if cfg["size"] == held_y.shape[-1] else held_y.mean(0, keepdim=True).expand_as(held_y)}
if cfg["size"] == held_y.shape[-1]:  # gpu and full modes train larger: their run does not fit here
    columns[f"quick pix2pix ({cfg['steps']} steps)"] = translate(pix2pix.G, held_x)
columns["shipped L1 only"] = translate(pretrained.load("pix2pix_l1"), held_x)
columns["shipped pix2pix"] = translate(pretrained.load("pix2pix"), held_x)
shipped_scores = {name: pix2pix_scores(pred, held_y) for name, pred in columns.items()}
real_other = pix2pix_scores(InMemory(ProceduralFacades(length=64, size=held_y.shape[-1], seed=2)).tensors["target"],
                            held_y)
for name, sc in {**shipped_scores, "(real photos of other facades)": real_other}.items():
    print(f"{name:<32} L1 {sc['l1']:.3f}   patch distance {sc['patch_swd']:.3f}   chroma {sc['chroma']:.3f}")

# %%
def facade_columns(x: torch.Tensor, y: torch.Tensor, columns: dict[str, torch.Tensor], n: int = 4) -> plt.Figure:
    """Rows: n held-out layouts; columns: labels | each model's output | truth, metrics in the titles."""
    heads = ["labels"] + [f"{k}\nL1 {shipped_scores[k]['l1']:.3f}\npatch {shipped_scores[k]['patch_swd']:.3f}"
                          f" chroma {shipped_scores[k]['chroma']:.2f}" for k in columns]
    heads.append(f"truth\n(other real photos:\npatch {real_other['patch_swd']:.3f} chroma {real_other['chroma']:.2f})")
    images, titles = [], []
    for i in range(n):
        images += [x[i], *(v[i] for v in columns.values()), y[i]]
        titles += heads if i == 0 else [""] * len(heads)
    return show_images(torch.stack(images).clamp(-1, 1), value_range=(-1, 1), titles=titles, ncols=len(heads),
                       scale=1.75)


fig = facade_columns(held_x, held_y, columns)
l1_ship, gan_ship = shipped_scores["shipped L1 only"], shipped_scores["shipped pix2pix"]
assert l1_ship["l1"] < shipped_scores["mean facade"]["l1"] and gan_ship["l1"] < shipped_scores["mean facade"]["l1"]
assert l1_ship["l1"] < gan_ship["l1"], "L1 only must win on L1, the loss it minimises"
assert gan_ship["patch_swd"] < l1_ship["patch_swd"], "pix2pix must look more like real photos"
print(f"pix2pix vs L1 only: patch distance {gan_ship['patch_swd']:.3f} vs {l1_ship['patch_swd']:.3f}; "
      f"L1 {gan_ship['l1']:.3f} vs {l1_ship['l1']:.3f}")

# %% [markdown]
# Trained longer, the two losses lead where section 2 predicted. The shipped L1-only model draws
# every window and cornice in place and has the lowest L1 of all columns, but paints every
# facade the same beige: the per-pixel median of all the possible colours. The shipped pix2pix
# model has a slightly higher L1 (a real-looking colour that is not *this* facade's colour counts
# as an error), and a lower patch distance and more chroma, both closer to the real photos' values:
# the discriminator rejected the grey median. Its colours are not yet one colour per wall, though:
# they come in patches (pink, yellow, green) within one facade, because a 70x70 PatchGAN on a
# 64x64 image, trained for 1000 steps, judges colour locally far better than it enforces
# consistency across the wall. Both beat the mean facade on L1 by a wide margin. The quick run of
# this notebook (third column) is further from the real photos than the shipped pix2pix on both
# realism measures: the longer training mostly bought realism, not L1.
#
# ## 6. Two ablations
#
# **U-Net skips vs a plain encoder-decoder.** The same layers without the skips
# (`UnetGenerator(skip=False)`): everything must pass the 1x1 bottleneck. Both trained with L1
# only, the same number of steps.

# %%
plain = train(Pix2PixTask(G=UnetGenerator(3, 3, cfg["num_downs"], cfg["ngf"], skip=False), gan_mode=None),
              cfg["steps"])
outputs["encoder-decoder, L1 only"] = translate(plain.G, test_x)
skip_scores = {k: paired_scores(outputs[k], test_y) for k in ("encoder-decoder, L1 only", "L1 only")}
print(format_scores(skip_scores))
assert skip_scores["L1 only"]["L1"] < skip_scores["encoder-decoder, L1 only"]["L1"]
fig = show_rows({"labels": test_x[:6], "encoder-decoder": outputs["encoder-decoder, L1 only"][:6],
                 "U-Net": outputs["L1 only"][:6], "target": test_y[:6]}, value_range=(-1, 1), scale=1.45)

# %% [markdown]
# Without skips the windows melt into smudges: where a window edge is must be re-created from a
# 1x1 code. With the skips, the first encoder layer's features reach the last decoder layer
# directly. (The paper found the same with cGAN + L1: the encoder-decoder "is unable to learn to
# generate realistic images".)
#
# **Patch size of the discriminator.** The paper compares a 1x1 "PixelGAN", 16x16 and 70x70
# PatchGANs and a 286x286 "ImageGAN" on 256x256 images. At 64x64 we use `n_layers` 0, 1, 2, 3:
# fields of 1, 16, 34 and 70 pixels, the last covering the whole image (so 16x16 is to our 64x64
# images what 70x70 is to 256x256). To make it cheap, every variant starts from the trained L1
# model and adds the adversarial loss for the same number of steps (in quick mode with a larger,
# constant learning rate, 5e-4, so that so few steps show an effect).

# %%
fields = {0: "1x1 (PixelGAN)", 1: "16x16", 2: "34x34", 3: "70x70 (all)"}
ablation = {"L1 only (start)": scores["L1 only"]}
ablation_outputs = {}
for n_layers, name in fields.items():
    task = Pix2PixTask(G=copy.deepcopy(l1_only.G), ndf=cfg["ngf"], n_layers=n_layers, lr=cfg["ablation_lr"])
    torch.manual_seed(1)
    Trainer(task, train_set, TrainConfig(steps=cfg["ablation_steps"], batch_size=cfg["batch"], log_every=20)).fit()
    ablation_outputs[name] = translate(task.G, test_x)
    ablation[f"+ D {name}"] = paired_scores(ablation_outputs[name], test_y)
ablation["(real photos of other facades)"] = scores["(real photos of other facades)"]
print(format_scores(ablation))

# %%
fig = show_rows({"labels": test_x[:6], "L1 only": outputs["L1 only"][:6],
                 **{f"D {k}": v[:6] for k, v in ablation_outputs.items()}, "target": test_y[:6]},
                value_range=(-1, 1), scale=1.45)

# %% [markdown]
# On this small scale, after 120 steps, the differences are modest, so let the table judge. The
# patch distance to the real photos falls as the patch grows, and the two larger discriminators
# add the most colour, at a small cost in L1 (a real-looking colour that is not *this* wall's
# colour is an error for L1). The 1x1 discriminator can only judge the colour of single pixels;
# it cannot see texture at all, and it changes the output least. The paper reports the same
# ordering, and that beyond 70x70 (its 286x286 ImageGAN) quality does not improve while the
# discriminator gets bigger and harder to train. A discriminator that scores patches also works
# at any image size: the same PatchGAN runs on 256x256 and 512x512 images.
#
# ## 7. Test time: dropout stays on, batch norm uses the test batch
#
# pix2pix is tested the way it trains: **dropout on** (the generator's only noise) and **batch
# norm with the statistics of the test batch** (batch size 1 in the paper, which makes batch norm
# an instance norm). `model.eval()` would instead switch dropout off and use the running averages
# collected in training. `translate(G, x, dropout=..., batch_stats=...)` runs either way without
# touching the running averages.

# %%
modes = {"paper (dropout on, batch statistics)": dict(dropout=True, batch_stats=True),
         "dropout off, batch statistics": dict(dropout=False, batch_stats=True),
         "model.eval() (running averages)": dict(dropout=False, batch_stats=False)}
test_scores = {name: paired_scores(translate(pix2pix.G, test_x, **kw), test_y) for name, kw in modes.items()}
print(format_scores(test_scores))
torch.manual_seed(0)
samples = torch.stack([translate(pix2pix.G, test_x[:8]) for _ in range(6)])  # 6 dropout samples
spread = samples.std(0).mean()
print(f"mean per-pixel standard deviation over 6 dropout samples: {spread:.4f} (the image range is 2)")
fig = show_images(torch.cat([samples[:4, 0], translate(pix2pix.G, test_x[:1], dropout=False, batch_stats=False)]),
                  value_range=(-1, 1), ncols=5, scale=1.8,
                  titles=[f"dropout sample {i + 1}" for i in range(4)] + ["model.eval()"])

# %% [markdown]
# The dropout samples differ only slightly: as the paper notes, dropout gives "minor
# stochasticity", not the diversity of the sixteen paintings of section 2. (pix2pixHD, the next
# lecture, adds explicit control over the style of each object.) Whether `model.eval()` is worse
# or better depends on how well the running averages describe single test images; with our
# batches of 4 in training the difference stays small. With batch size 1 in training, the paper's
# choice, test-time batch statistics are the only choice consistent with training.
#
# ## 8. Full size
#
# The paper's configuration (U-Net 256, 70x70 PatchGAN, batch 1, 200 epochs with the learning
# rate decaying over the last 100, random jitter and mirroring) is one command on a GPU; `--resume`
# continues an interrupted run, and sample grids land in the run folder:
#
# ```bash
# python -m course_lib.train pix2pix --data facades --preset paper --out runs/facades
# python -m course_lib.train pix2pix --data edges2shoes --preset paper   # batch 4, 15 epochs
# python -m course_lib.train pix2pix --preset quick                      # procedural facades, minutes on a CPU
# ```
#
# ## Summary
#
# * With a multimodal target, L1's optimum is the per-pixel median: grey and blurry. No network
#   size fixes that; a different loss does.
# * pix2pix = U-Net generator (skips carry the structure) + PatchGAN discriminator on the *pair*
#   (it judges patches, and it judges whether output and input belong together) + cGAN + 100 * L1.
# * Trained briefly, both pix2pix and L1 beat the trivial baseline on L1/PSNR; L1 wins those
#   numbers, pix2pix wins on looking real (colour, texture, patch statistics).
# * Skips matter a lot; the patch size trades realism against L1; dropout, the only noise, gives
#   little diversity.
#
# **Next:** the lab (`labs/04_pix2pix_lab.ipynb`), then lecture 05: pix2pixHD, for 2048x1024
# images and for control over each object's appearance.
