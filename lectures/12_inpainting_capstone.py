# %% [markdown]
# # 12 · Capstone: four inpainting networks, one table
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/12_inpainting_capstone.ipynb)
#
# Lectures 08-10 met four learned inpainting methods, each in its own paper's setting: the Context
# Encoder (2016) with a centre square, Global & Local (2017) with rectangles, partial convolution
# (2018) and DeepFill v2 (2019) with free-form strokes, each with its own data, image size and
# training time. Papers compare on their own terms, so their numbers cannot be put side by side.
# This capstone measures all four, together with the classical mean-colour, biharmonic and
# PatchMatch fills, on **the same held-out photo crops with the same holes**, in one table per
# mask family, with **the same post-processing for every method**.
#
# In this lecture you will
#
# 1. fix one test setting for every method (64 px crops of real photos, rectangular and free-form
#    holes) and see where each method's weights come from;
# 2. train the methods that the course does not ship a checkpoint for;
# 3. compare all methods inside the holes in L1, PSNR and SSIM, each as it is and each
#    Poisson-blended, and name a winner only where one method leads both numbers;
# 4. look at every result side by side, large enough to judge by eye;
# 5. learn how to run the same comparison at 256 px on a GPU.
#
# **Time:** a few minutes on a laptop CPU (quick mode). There is no lab: the capstone *is* the
# exercise. Change a setting in section 1 and rerun it.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="12_inpainting_capstone")

# %%
import time

import matplotlib.pyplot as plt
import torch

from course_lib import by_mode, pretrained
from course_lib.inpainting import hole_ratio
from course_lib.inpainting.capstone import (
    FAMILIES,
    LEARNED,
    SHIPPED,
    CapstoneConfig,
    build_tasks,
    compare_all,
    format_fair_tables,
    held_out_sets,
    parameter_table,
    ranking,
    shipped_networks,
    side_by_side,
    train_all,
    training_data,
    vgg_cost,
    winners,
)
from course_lib.inpainting.evaluate import high_frequency_energy
from course_lib.standard_metrics import standard_metrics
from course_lib.viz import show_rows

# %% [markdown]
# ## 1. One setting for everyone
#
# **Data.** Quick mode uses 64x64 crops of the colour photographs bundled with scikit-image
# (`PhotoCrops`: the astronaut, the coffee cup, the cat, the rocket; random positions and scales,
# mirrored), the data the course's shipped inpainting checkpoints were trained on. The test crops
# come from the same photographs with another seed: other positions, scales and holes, never a
# training crop. (Four photographs are all the course can bundle; a test on *other* photographs
# is what full mode does, with a folder of training photographs and a second folder it never saw,
# for example Places2's training and validation sets.)
#
# **Masks.** Every test image is used twice: once with Global & Local's rectangle (the paper's
# 96-128 px sides at 256 px, scaled to 64) and once with DeepFill v2's brush strokes (the official
# release's parameters, scaled), so the two tables differ only in the holes.
#
# **Weights.** Where the course ships a checkpoint for a method (`course_lib.pretrained`: trained
# on these photo crops far longer than a notebook can), the capstone uses it; the other methods
# are trained below, all with the same images, masks, iterations and batch size. The cell prints
# which is which and how each was trained: the budgets differ, and the tables must be read with
# that in mind.

# %%
DATA_FOLDER = None  # full mode: a folder of training photographs (e.g. Places2 train)
TEST_FOLDER = None  # full mode: a folder of other photographs (e.g. Places2 val)
cfg = by_mode(quick=CapstoneConfig.quick(), gpu=CapstoneConfig.gpu(), full=CapstoneConfig.full())
if setup.mode == "full" and (DATA_FOLDER is None or TEST_FOLDER is None):
    raise SystemExit("full mode trains on real photographs: set DATA_FOLDER and TEST_FOLDER above")
print(cfg)
tests = held_out_sets(cfg, TEST_FOLDER)
for family, test in tests.items():
    r = hole_ratio(test["mask"])
    print(f"{family:<11} test holes: {len(r)} images of {cfg.size}x{cfg.size} px, hole ratio mean {float(r.mean()):.3f} "
          f"(min {float(r.min()):.3f}, max {float(r.max()):.3f})")
rows, cols = tests["rectangles"]["mask"].amax(-1), tests["rectangles"]["mask"].amax(-2)
print(f"rectangle sides: {int(rows.sum((1, 2)).min())}-{int(rows.sum((1, 2)).max())} px high, "
      f"{int(cols.sum((1, 2)).min())}-{int(cols.sum((1, 2)).max())} px wide")

shipped = shipped_networks() if cfg.use_shipped else {}
to_train = [name for name in LEARNED if name not in shipped]
origin = {}
print("\nwhere the weights of each learned method come from:")
for name in LEARNED:
    if name in shipped:
        e = pretrained.info(SHIPPED[name])
        origin[name] = f"shipped: {e['steps']} it. x {e['batch_size']}"
        print(f"  {name:<16} shipped checkpoint '{SHIPPED[name]}': {e['steps']} iterations x {e['batch_size']} images, "
              f"{e['resolution']} px, {e['data']}")
    else:
        origin[name] = f"trained here: {cfg.steps} it. x {cfg.batch_size}"
        print(f"  {name:<16} trained in this notebook: {cfg.steps} iterations x {cfg.batch_size} images "
              f"at {cfg.size} px, width {cfg.width}")

# %%
items = [tests["free-form"]["image"][:6], tests["rectangles"]["mask"][:6], tests["free-form"]["mask"][:6]]
fig = show_rows({"held-out crop": items[0],
                 "rectangle (white)": items[1].expand(-1, 3, -1, -1) * 2 - 1,
                 "strokes (white)": items[2].expand(-1, 3, -1, -1) * 2 - 1},
                value_range=(-1, 1), scale=1.8)

# %% [markdown]
# What each method keeps and gives up to fit this one setting:
#
# * **Context Encoder**: the shipped checkpoint is lecture 08's, which predicts only the centre
#   half of the image (`train.lua`). For a rectangle elsewhere, the capstone moves the image so
#   that the hole sits in the centre (reflecting it at the borders), fills it and moves it back;
#   a hole too large for the centre (most strokes) cannot be filled, and the method is left out
#   of that table. It was trained with one hole only, the 28x28 centre square: rectangles of other
#   sides are new to it, which the tables show. Trained here instead, it predicts the *whole* image (the official
#   `train_random.lua` variant) and serves both families.
# * **Global & Local** (lecture 09): the shipped completion network was trained with rectangles
#   only; the strokes are new to it. Trained here, its iterations split into the paper's three
#   phases.
# * **Partial convolution** (lecture 10) uses the paper's U-Net, its encoder stopping at 2x2. Its
#   loss has a valid term, a hole term (x6) and a total-variation term; the perceptual and style
#   terms on VGG-16 features are left out in quick mode (the cost is printed below): offline, the
#   course's VGG is a random network (lecture 02), whose features know nothing of ImageNet.
# * **DeepFill v2** (lecture 10) is the release's *unguided* model (no sketch channel): at test
#   time a sketch made from the ground truth's edges would give the answer away. Quick mode uses
#   lecture 10's recipe (L1 alone for the first three quarters, hole pixels weighted 6, GAN weight
#   0.1).
#
# **Post-processing.** Global & Local's paper Poisson-blends its output into the known pixels
# (Sec. 3.4, lecture 09), which removes any colour offset at the hole's border. Giving that to one
# method and not the others would decide the comparison by the post-processing, so the tables
# report every method twice: as it is (raw network output pasted into the hole) and Poisson-blended.

# %%
without, with_vgg = vgg_cost(cfg)
print(f"one partial-convolution loss + backward on a batch of {cfg.batch_size}: {without * 1e3:.0f} ms without "
      f"the VGG terms, {with_vgg * 1e3:.0f} ms with them ({with_vgg / without:.0f}x)")
candidates = build_tasks(cfg)
print(f"\nparameters at {cfg.size} px, width {cfg.width or 'of the papers'} (the methods trained here):")
print(parameter_table({name: candidates[name] for name in to_train}))
print("\nshipped networks: " + ", ".join(f"{name} {sum(p.numel() for p in net.parameters()):,}"
                                         for name, net in shipped.items()))
del candidates

# %% [markdown]
# ## 2. Training what is not shipped
#
# Every method trained here gets the same budget (printed above); the times differ, and they
# are part of the comparison.

# %%
train_set = training_data(cfg, DATA_FOLDER)
trained = train_all(cfg, train_set, names=to_train)

# %%
curves = {"Context Encoder": "G/l2", "Global & Local": "C/mse", "PConv": "G/hole", "DeepFill v2": "G/l1"}
if trained:
    fig, axes = plt.subplots(1, len(trained), figsize=(4.2 * len(trained), 3), squeeze=False)
    for ax, name in zip(axes[0], trained):
        h, key = trained[name].history, curves[name]
        ax.plot(h.value_steps[key], h.values[key])
        ax.set_title(f"{name}: {key}", fontsize=10)
        ax.set_xlabel("iteration")
    fig.tight_layout()
    for name in trained:
        v = trained[name].history.values[curves[name]]
        print(f"{name}: {curves[name]} {v[0]:.4f} at the first log, {v[-1]:.4f} at the last")

# %% [markdown]
# ## 3. The tables
#
# Both test families, every method, measured inside the holes only (`course_lib.inpainting.evaluate`,
# as in lectures 08-10): L1 and PSNR per image on the [0, 1] scale, SSIM over windows centred in
# the hole. Left: each method as it is; right (+P): the same method Poisson-blended. Blending
# leaves the biharmonic and PatchMatch fills unchanged (they already meet the known pixels at
# the border, and the blend reproduces them: `tests/test_capstone.py` checks it, so their blended
# scores are copied rather than recomputed) and turns the mean colour into the smooth membrane
# fill through the border colours.

# %%
start = time.perf_counter()
raw = compare_all(trained, tests, shipped=shipped)
blended = compare_all(trained, tests, shipped=shipped, blend=True, reuse=raw)  # see the note above
print(format_fair_tables(raw, blended, origin))
print(f"\n(evaluated in {time.perf_counter() - start:.0f} s)")

# %% [markdown]
# The course's bar: a learned method should beat the mean-colour fill inside the holes. And a
# winner is named only where one method has both the lowest L1 and the highest PSNR, once with
# every method raw and once with every method blended (no method gets a post-processing the
# others do not):

# %%
for family in FAMILIES:
    mean = raw[family]["mean colour"]
    for name in LEARNED:
        if name in raw[family]:
            s = raw[family][name]
            print(f"{family:<11} {name:<16} raw L1 {s.l1:.4f} vs mean colour {mean.l1:.4f}, "
                  f"PSNR {s.psnr:5.2f} vs {mean.psnr:5.2f} dB -> "
                  f"{'beats it' if s.l1 < mean.l1 and s.psnr > mean.psnr else 'does NOT beat it in both'}")
if "Global & Local" in shipped:  # trained far longer on exactly this kind of rectangle: it must clear the bar
    assert raw["rectangles"]["Global & Local"].l1 < raw["rectangles"]["mean colour"].l1
    assert raw["rectangles"]["Global & Local"].psnr > raw["rectangles"]["mean colour"].psnr
print()
for label, tables in (("raw", raw), ("Poisson-blended", blended)):
    order = ranking(tables, "l1")
    for family, winner in winners(tables).items():
        best_psnr = max(tables[family], key=lambda n: tables[family][n].psnr)
        verdict = (f"winner {winner}" if winner else
                   f"no winner (lowest L1: {order[family][0]}, highest PSNR: {best_psnr})")
        print(f"{label:<16} {family:<11} {verdict}; by L1, best first: {', '.join(order[family])}")

# %% [markdown]
# Later papers report FID and LPIPS of the completed images too (e.g. LaMa, Suvorov et al. 2022):
# FID against the held-out photos, and LPIPS (Zhang et al. 2018), the distance of each completed
# image to its own photo in the features of an ImageNet-trained AlexNet (`course_lib.standard_metrics`,
# the `metrics` extra). They measure whole images, known pixels included. Without their networks'
# weights the cell says what is missing and how to get it, and the tables above stand on the
# course's own measures.

# %%
DOWNLOAD_WEIGHTS = False  # True: fetch the Inception and AlexNet weights (about 330 MB) once, with a network
for family in FAMILIES:
    outputs = {name: s.outputs for name, s in raw[family].items()}
    print(f"{family} holes (raw):")
    print(standard_metrics(tests[family]["image"], outputs, value_range=(-1, 1), download=DOWNLOAD_WEIGHTS))

# %% [markdown]
# ## 4. All results side by side
#
# Four held-out crops per family, every method as it is (the raw column of the tables), each
# panel titled with its method and that image's in-hole L1 and PSNR. The hole is painted magenta
# in the input (the methods saw zeros there). Look at the rows before reading the discussion.

# %%
fig = side_by_side(raw, tests, "rectangles", indices=(0, 1, 2, 3), scale=2.1)

# %%
fig = side_by_side(raw, tests, "free-form", indices=(0, 1, 2, 3), scale=2.1)

# %% [markdown]
# A pixel-wise metric cannot see texture, so we also measure it: the mean absolute Laplacian inside
# the rectangular holes, at least 2 px from their edges (so that the seam does not count), as a
# share of the truth's. A blurry fill has little; a fill that invents texture has more, right or
# wrong.

# %%
scores = raw["rectangles"]
mask = tests["rectangles"]["mask"]
truth_detail = float(high_frequency_energy(tests["rectangles"]["image"], mask).mean())
detail = {name: float(high_frequency_energy(s.outputs, mask).mean()) / truth_detail for name, s in scores.items()}
print(f"rectangular holes: detail as a share of the truth's ({truth_detail:.3f}), PSNR and SSIM (raw)")
for name, share in detail.items():
    print(f"  {name:<16} detail {share:4.0%}   PSNR {scores[name].psnr:5.2f} dB   SSIM {scores[name].ssim:.3f}")
assert detail["biharmonic"] < detail["PatchMatch"] and scores["biharmonic"].psnr > scores["PatchMatch"].psnr

# %% [markdown]
# ## 5. Discussion
#
# **Read the winner lines, not a favourite.** The cell above names a winner of each table only
# where one method has both the lowest L1 and the highest PSNR, with every method raw and with
# every method blended. Comparing Global & Local *with* its Poisson blend against the others
# *without* would mostly measure the blend: compare the two halves of each table. The blend turns
# the mean colour into the membrane fill and lifts it most; it also lifts the networks whose fill
# is off in colour at the border (Global & Local, DeepFill v2), and it can make a network worse
# (PConv on the rectangles in this run): it keeps the *gradients* of a network's output next to the
# border, and those are wrong wherever the output outside the hole is poor.
#
# **Smooth fills are strong at this size.** At 64 px, a rectangle's centre is only about a dozen
# pixels from a known pixel, and most stroke pixels are a few pixels from one. The smoothest
# surface through the known pixels, biharmonic inpainting, is then hard to beat in L1 and PSNR,
# and where the winner lines name it, that is the reason. The figures show what the numbers hide:
# biharmonic fills are smooth blurs; PatchMatch copies real texture (more detail than biharmonic,
# asserted above, and a lower PSNR, because every texel not exactly where the truth has one
# costs); the networks' fills carry detail too, but part of it is their own artefacts, such as
# the Context Encoder's blocks (its small bottleneck, enlarged) and PConv's faint grid.
#
# **The shipped Context Encoder and other holes.** It was trained with a single hole, the 28x28
# centre square of lecture 08, and it predicts only the centre. Moved to the centre, the
# rectangles here still have other sides and positions than anything it saw, and its fills are
# worse than on its own hole (lecture 08): in the cell above it does not beat the mean colour on
# the rectangles. A network learns the holes it is trained on; that is why Global & Local,
# partial convolution and DeepFill v2 train with random holes.
#
# **Budgets differ.** The shipped networks were trained for many more images than a method
# trained in this notebook would be (the first cell of section 1 prints where each method's
# weights come from: in quick mode every learned method that has a shipped checkpoint uses it;
# the GPU and full modes train them all here, with one shared budget). A gap between a shipped
# and a trained-here method says little about the methods themselves; between methods with the
# same origin, the comparison is fair in data, masks and budget.
#
# **Why PSNR favours blur.** PSNR and L1 compare pixels with *one* truth. When several fillings are
# plausible, the prediction that minimises the expected squared error is their *average*, a blur
# (lecture 08). A GAN loss pushes a network towards one sharp plausible answer, like PatchMatch,
# so it can only lose PSNR to an L2- or L1-trained twin. This is why inpainting papers show
# pictures and user studies next to their pixel errors; read every table of this notebook next to
# its figure.
#
# **What full mode at 256 px would change.** *Semantics:* a 64 px crop holds little of a face,
# window or road to complete; at 256 px, with Places2 and hundreds of thousands of iterations,
# the networks learn them and PatchMatch cannot (it only copies what the image contains). *Large
# holes:* 96-128 px rectangles are far from every known pixel, which ruins smooth fills and is
# where Global & Local's dilated context and DeepFill v2's contextual attention earn their cost.
# *The adversarial losses:* with converged reconstructions, the discriminators' contribution
# (sharper texture) shows in the figure, at a small cost in PSNR. *Partial convolution's
# perceptual and style terms*, with real ImageNet VGG features. Expect the ordering to change:
# the papers each report beating their predecessors at 256 px.
#
# ## 6. The full version on a GPU
#
# Full mode runs the same comparison at 256x256 px with each paper's widths and optimisers and
# 100,000 iterations of 16 images per method: hours per method on one GPU, so train from the
# command line, which saves a checkpoint every 2,000 iterations and resumes where it stopped:
#
# ```bash
# python -m course_lib.inpainting.capstone --preset full \
#     --data /data/places2/train --test-data /data/places2/val --out runs/capstone
# ```
#
# It prints the tables, raw and Poisson-blended (also written to `runs/capstone/tables.txt`), and saves
# one figure per family.
# Each method also has its own recipe with its paper's full schedule (`--preset paper`); the next
# cell lists the registered recipes, as `python -m course_lib.train --list` does. Or run this
# notebook with `COURSE_MODE=full` after setting `DATA_FOLDER` and `TEST_FOLDER` in section 1.

# %%
from course_lib.train.cli import RECIPES

print("python -m course_lib.train --list  ->", ", ".join(sorted(RECIPES)))
for name in sorted(RECIPES):
    if RECIPES[name].startswith("course_lib.inpainting"):
        print(f"  python -m course_lib.train {name} --preset paper --data /data/places2/train --out runs/{name}")

# %% [markdown]
# ## Summary
#
# * One test setting for all: the same held-out 64 px photo crops, the same rectangles and brush
#   strokes; shipped checkpoints where the course has them, the other methods trained here with
#   one shared budget, and where each method's weights come from printed beside its scores.
# * The same post-processing for everyone: each method raw and each Poisson-blended; a winner is
#   named only where one method leads both L1 and PSNR.
# * Measured inside the holes at this size, smooth fills are strong; texture costs PSNR. Compare
#   methods with the table *and* the pictures.
