# %% [markdown]
# # 12 · Capstone: four inpainting networks, one table
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/main/lectures/12_inpainting_capstone.ipynb)
#
# Lectures 08-10 met four learned inpainting methods, each in its own paper's setting: the Context
# Encoder (2016) with a centre square, Global & Local (2017) with rectangles, partial convolution
# (2018) and DeepFill v2 (2019) with free-form strokes, each with its own data, image size and
# training time. Papers compare on their own terms, so their numbers cannot be put side by side.
# This capstone does what the papers could not: it trains all four **with the same images, the
# same masks and the same budget**, and measures them, together with the classical PatchMatch and
# biharmonic fills, in one table per mask family.
#
# In this lecture you will
#
# 1. fix one setting for every method (data, masks, iterations, batch) and see what each method
#    must give up to fit in it;
# 2. train the four networks and check that each has learned something (it beats the mean-colour
#    fill inside the holes);
# 3. compare all methods on held-out images with **rectangular** and with **free-form** holes,
#    in L1, PSNR and SSIM inside the holes;
# 4. look at every result side by side and see where the table and your eyes disagree;
# 5. learn how to run the same comparison at 256 px on a GPU.
#
# **Time:** about 6 minutes on a laptop CPU (quick mode). There is no lab: the capstone *is* the
# exercise. Change a setting in section 1 and rerun it.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="12_inpainting_capstone")

# %%
import time

import matplotlib.pyplot as plt
import torch

from course_lib import by_mode
from course_lib.inpainting import hole_ratio
from course_lib.inpainting.capstone import (
    FAMILIES,
    LEARNED,
    CapstoneConfig,
    assert_all_beat,
    build_tasks,
    compare_all,
    format_tables,
    held_out_sets,
    parameter_table,
    ranking,
    side_by_side,
    train_all,
    training_data,
    vgg_cost,
)
from course_lib.inpainting.evaluate import beats, high_frequency_energy
from course_lib.viz import show_rows

# %% [markdown]
# ## 1. One setting for everyone
#
# **Data.** Quick mode trains on 32x32 crops of the photographs bundled with scikit-image and of
# its three texture photographs (brick, grass, gravel, each with a random tint), and tests on other
# crops (another seed). Full mode trains on random 256x256 crops of a folder of photographs (for
# example Places2, on which Global & Local and DeepFill v2 were trained) and tests on a second
# folder of photographs it never saw.
#
# **Masks.** Each training image gets, with probability 1/2, Global & Local's rectangle (sides
# 96-128 px of 256, here 12-16 px of 32), otherwise DeepFill v2's brush strokes with the official
# release's parameters (1-3 strokes of 4-11 segments, brush 12-40 px at 256, scaled). One model per
# method then serves both test families. The test sets are the *same* held-out images twice, once
# with a rectangle and once with strokes, so the two tables differ only in the holes.
#
# **Budget.** The same number of iterations of the same batch size for everyone, so every method
# sees exactly the same images and masks in the same order (the trainer seeds each sample). Each
# method keeps its own loss and optimiser, because those are part of the method.
#
# **Why so small.** Four networks, two of them GANs, plus PatchMatch on 64 test images must run
# in about 6 minutes on one CPU thread. At 32 px an iteration of 16 images of the most expensive
# model (DeepFill v2, two stages with attention and a discriminator) already costs about half a
# second at width 16; at 256 px it would cost 64 times more. So quick mode keeps the
# *architectures* (every layer type, dilation and attention of the papers) and shrinks the images,
# the widths (a base width of 8 for every network instead of 48-64) and the training (8,000 images
# instead of tens of millions). In this regime every network is far from converged, and more
# updates of a narrow network teach it more than fewer updates of a wide one.

# %%
DATA_FOLDER = None  # full mode: a folder of training photographs (e.g. Places2 train)
TEST_FOLDER = None  # full mode: a folder of other photographs (e.g. Places2 val)
cfg = by_mode(quick=CapstoneConfig.quick(), full=CapstoneConfig.full())
if setup.mode == "full" and (DATA_FOLDER is None or TEST_FOLDER is None):
    raise SystemExit("full mode trains on real photographs: set DATA_FOLDER and TEST_FOLDER above")
print(cfg)
print(f"budget: {cfg.steps} iterations x {cfg.batch_size} images = {cfg.steps * cfg.batch_size:,} "
      f"training images per method, at {cfg.size}x{cfg.size} px")

train_set = training_data(cfg, DATA_FOLDER)
tests = held_out_sets(cfg, TEST_FOLDER)
for family, test in tests.items():
    r = hole_ratio(test["mask"])
    print(f"{family:<11} test holes: {len(r)} images, hole ratio mean {float(r.mean()):.3f} "
          f"(min {float(r.min()):.3f}, max {float(r.max()):.3f})")
train_ratio = hole_ratio(torch.stack([train_set[i]["mask"] for i in range(200)]))
print(f"training holes (first 200): hole ratio mean {float(train_ratio.mean()):.3f}")

# %%
items = [train_set[i] for i in range(8)]
fig = show_rows({"training image": torch.stack([it["image"] for it in items]),
                 "its hole (white)": torch.stack([it["mask"] for it in items]).expand(-1, 3, -1, -1) * 2 - 1,
                 "what a method sees": torch.stack([it["image"] * (1 - it["mask"]) for it in items])},
                value_range=(-1, 1), scale=1.2)

# %% [markdown]
# What each method keeps and gives up to fit this one setting:
#
# * **Context Encoder** predicts the *whole* image (the official `train_random.lua` variant, L2
#   weighted 10x on the known pixels): its centre-only network cannot fill a hole anywhere else.
#   In quick mode its bottleneck is the paper's channel-wise fully connected layer (lecture 08).
#   Quick mode also departs from `train_random.lua` in three stated ways: the first half of the
#   budget is L2 only (the adversarial term joins for the second half, like lecture 08's
#   pre-training), the known pixels' L2 weight is 0.1 instead of 10 (with a whole-image output, a
#   weight of 10 on the ~80% known pixels leaves a short run almost no gradient for the hole), and
#   Adam's rate is 5e-5 (generator 5e-4) instead of 2e-4 (2e-3).
# * **Global & Local** splits its iterations in the paper's proportions, `T_C : T_D : T = 90k : 10k
#   : 400k`: MSE only, then the two discriminators alone, then both (lecture 09). Its local
#   discriminator looks at a crop centred on the hole's bounding box, also for strokes. Its output
#   is Poisson-blended into the known pixels, the paper's post-processing (Sec. 3.4, lecture 09):
#   the "Global & Local" of the tables is the network *plus* this blend, as in the paper.
# * **Partial convolution** uses the paper's U-Net, with its encoder stopping at 2x2 as at 512 px.
#   Its loss has a valid term, a hole term (x6), a total-variation term, and perceptual and style
#   terms on VGG-16 features. Quick mode leaves out the last two (see the cost below): offline, the
#   course's VGG is a random network (lecture 02), whose features know nothing of ImageNet.
# * **DeepFill v2** is the release's *unguided* model (no sketch channel): at test time a sketch
#   made from the ground truth's edges would give the answer away. Quick mode uses lecture 10's
#   recipe: L1 alone for the first 3/4 of the budget (the discriminator is useless while the
#   generator outputs mush), the hole pixels' L1 weighted 6, the open initialisation, Adam 1e-3 and
#   a GAN weight of 0.1; full mode uses the release's settings.
#
# Otherwise the quick optimisers are the course's quick recipes' (Adam with larger learning rates
# for Global & Local and PConv), which learn faster in a few hundred iterations; full mode uses
# each paper's (ADADELTA for Global & Local, Adam 1e-4 for DeepFill v2, ...) and none of the
# quick-mode departures above.

# %%
without, with_vgg = vgg_cost(cfg)
print(f"one partial-convolution loss + backward on a batch of {cfg.batch_size}: {without * 1e3:.0f} ms without "
      f"the VGG terms, {with_vgg * 1e3:.0f} ms with them ({with_vgg / without:.0f}x)")
candidates = build_tasks(cfg)
print(f"\nparameters at {cfg.size} px, width {cfg.width or 'of the papers'} (this run):")
print(parameter_table(candidates))
full_candidates = build_tasks(CapstoneConfig.full(pconv_vgg=False))
print("\nparameters at 256 px with the papers' widths (full mode):")
print(parameter_table(full_candidates))
del candidates, full_candidates

# %% [markdown]
# ## 2. Training
#
# Each method trains for the same budget; the times differ, and they are part of the comparison.

# %%
trained = train_all(cfg, train_set)

# %%
curves = {"Context Encoder": "G/l2", "Global & Local": "C/mse", "PConv": "G/hole", "DeepFill v2": "G/l1"}
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
for ax, (name, key) in zip(axes, curves.items()):
    h = trained[name].history
    ax.plot(h.value_steps[key], h.values[key])
    ax.set_title(f"{name}: {key}", fontsize=9)
    ax.set_xlabel("iteration")
fig.tight_layout()

# %% [markdown]
# Every loss falls over the run, except where Global & Local's discriminators join in (iteration
# 734, the joint phase): its hole MSE jumps up, because a few hundred iterations of MSE are far from
# the converged completion network the paper's 90,000 give the adversarial phase to start from.
# (These are different losses: the Context Encoder's L2 covers the whole image
# with the known pixels weighted 0.1, Global & Local's MSE only the hole, PConv's hole term is an L1
# normalised by the whole image, DeepFill v2's L1 sums both stages over the whole image with the
# hole weighted 6. The Context Encoder's and DeepFill v2's discriminators join in at iterations
# 500 and 750, after their warm-ups.)
#
# ## 3. The tables
#
# Both test families, every method, measured inside the holes only (`course_lib.inpainting.evaluate`,
# as in lectures 08-10): L1 and PSNR per image on the [0, 1] scale, SSIM over windows centred in
# the hole; "s/image" is the time to fill one image on this CPU.

# %%
start = time.perf_counter()
tables = compare_all(trained, tests)
print(format_tables(tables))
print(f"\n(evaluated in {time.perf_counter() - start:.0f} s)")

# %% [markdown]
# The course's bar: a learned method should beat the mean-colour fill inside the holes. All four
# have a lower L1 than the mean colour on both families (asserted below). A higher PSNR as well,
# only Global & Local (with its Poisson blend) and partial convolution; the cell says which:

# %%
beaten = {}
for family, scores in tables.items():
    mean = scores["mean colour"]
    for name in LEARNED:
        s = scores[name]
        beaten[family, name] = beats(scores, name, "mean colour")
        print(f"{family:<11} {name:<16} L1 {s.l1:.4f} vs {mean.l1:.4f}, PSNR {s.psnr:5.2f} vs {mean.psnr:5.2f} dB"
              f"  -> L1 {'lower' if s.l1 < mean.l1 else 'NOT lower'}, PSNR {'higher' if s.psnr > mean.psnr else 'NOT higher'}"
              f" ({'beats' if beaten[family, name] else 'does not beat'} it in both)")
assert_all_beat(tables, metric="l1")  # all four: a lower L1 inside the holes, on both families
assert beaten["rectangles", "PConv"] and beaten["free-form", "PConv"]
assert beaten["rectangles", "Global & Local"] and beaten["free-form", "Global & Local"]
order = ranking(tables, "l1")
for family in FAMILIES:
    print(f"{family:<11} by L1, best first: {', '.join(order[family])}")

# %% [markdown]
# ## 4. All results side by side
#
# Three held-out images per family; the hole is painted magenta in the input (the methods saw zeros
# there). Look at the rows before reading the discussion.

# %%
fig = side_by_side(tables, tests, indices=(0, 1, 2), scale=1.15)

# %% [markdown]
# A pixel-wise metric cannot see texture, so we also measure it: the mean absolute Laplacian inside
# the rectangular holes, at least 2 px from their edges (so that the seam does not count), as a
# share of the truth's. A blurry fill has little; a fill that invents texture has more, right or
# wrong. (Strokes at 32 px are often too thin to keep any pixel 2 px from their edge, so this
# measure is for the rectangles only.)

# %%
scores = tables["rectangles"]
mask = tests["rectangles"]["mask"]
truth_detail = float(high_frequency_energy(tests["rectangles"]["image"], mask).mean())
detail = {name: float(high_frequency_energy(s.outputs, mask).mean()) / truth_detail for name, s in scores.items()}
print(f"rectangular holes: detail as a share of the truth's ({truth_detail:.3f}), and PSNR")
for name, share in detail.items():
    print(f"  {name:<16} detail {share:4.0%}   PSNR {scores[name].psnr:5.2f} dB   SSIM {scores[name].ssim:.3f}")
assert detail["biharmonic"] < detail["PatchMatch"] and scores["biharmonic"].psnr > scores["PatchMatch"].psnr
for family in FAMILIES:
    best_learned = min(LEARNED, key=lambda n: tables[family][n].l1)
    s, b = tables[family][best_learned], tables[family]["biharmonic"]
    print(f"{family}: best learned method {best_learned} (L1 {s.l1:.4f}, PSNR {s.psnr:.2f} dB); "
          f"biharmonic L1 {b.l1:.4f}, PSNR {b.psnr:.2f} dB")

# %% [markdown]
# ## 5. Discussion
#
# **What wins where.** The free-form holes are thin: at 32 px most missing pixels lie 1-3 px from
# a known one, and the smoothest surface through the known pixels, biharmonic inpainting, is
# almost the truth there: 28.5 dB against 22.2 dB for the mean colour, the best entry of the
# free-form table by far. The rectangles are 12-16 px wide, so their centre is 6-8 px from any
# known pixel, and every classical method loses: biharmonic falls to 23.3 dB, PatchMatch to 22.5 dB.
# Among the learned methods, Global & Local with its Poisson blend is the winner of this budget:
# on rectangles it ties biharmonic (L1 0.0607 vs 0.0608, 23.38 vs 23.34 dB) with more detail (29%
# of the truth's against 6%), and on strokes it is second only to biharmonic. The blend keeps the
# network's gradients and takes the hole's border values from the context, so a colour offset,
# the commonest error of a short run, cannot survive it. Partial convolution comes next, and is
# the best *raw* network: its loss weights the hole six times, and its renormalised convolutions
# never see the zeros inside the hole as data.
#
# **What this budget could not do.** The Context Encoder and DeepFill v2 beat the mean colour in
# L1 on both families, but not in PSNR (the cell above prints it). Look at their columns in the
# figure: DeepFill v2's fills are often off in colour over the whole hole (a greenish cast on the
# blue textures), and the Context Encoder's are noisy (62% of the truth's detail, most of it in
# the wrong place). Such errors cost little L1 but many dB on the smooth, tinted crops where the
# exact mean colour of the context is already a strong answer; PSNR, averaged per image, punishes
# a few large errors. They are not broken; they are early: the Context Encoder must rebuild the
# whole image through a 4x4 bottleneck, DeepFill v2 has two stages and attention to train. Their
# papers train for 100,000 to 500,000 iterations of 16-96 images at 256 px; this run gave each
# 1,000 iterations of 8 images at 32 px.
#
# **Why PSNR favours blur.** PSNR and L1 compare pixels with *one* truth. When several fillings are
# plausible, the prediction that minimises the expected squared error is their *average*, a blur
# (lecture 08). The detail measure makes it visible: biharmonic inpainting has the best PSNR on
# rectangles and a small share of the truth's detail; PatchMatch copies real texture and pays for
# every texel that is not exactly where the truth has one. A GAN loss pushes a network the same way
# as PatchMatch (towards one sharp plausible answer), so it can only lose PSNR to an L2- or
# L1-trained twin. This is why inpainting papers show pictures and user studies next to their
# pixel errors; read every table of this notebook next to its figure.
#
# **What full mode at 256 px would change.** Four things the quick setting cannot show. *Semantics:*
# a 32 px crop holds no face, window or road to complete; at 256 px, with Places2 and hundreds of
# thousands of iterations, the networks learn them and PatchMatch cannot (it only copies what the
# image contains). *Large holes:* 96-128 px rectangles are far from every known pixel, which ruins
# smooth fills and is where Global & Local's dilated context and DeepFill v2's contextual attention
# (an 8x8 grid here, 64x64 there) earn their cost. *The adversarial losses:* with converged
# reconstructions, the discriminators' contribution (sharper texture) shows in the figure, at a
# small cost in PSNR. *Partial convolution's perceptual and style terms*, with real ImageNet VGG
# features, which the quick run leaves out. Expect the ordering of the learned methods to change:
# the papers each report beating their predecessors at 256 px; this table only says which of them
# learns fastest from 8,000 tiny crops.
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
# It prints the two tables (also written to `runs/capstone/tables.txt`) and saves the figure.
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
# * One setting for all: the same images, the same mix of rectangles and brush strokes, the same
#   iterations and batch; each method keeps its own loss and optimiser, and the compromises it
#   needs (whole-image Context Encoder, Global & Local's phases, no sketch for DeepFill v2), plus
#   the quick-mode warm-ups and weights stated in section 1.
# * Measured inside the holes, thin free-form holes are easy for smooth fills and wide rectangles
#   are hard for everyone; biharmonic inpainting is the number to beat at small sizes.
# * With 8,000 training crops of 32 px, all four learned methods beat the mean colour in L1;
#   Global & Local (Poisson-blended, as in the paper) and partial convolution also in PSNR, and
#   Global & Local ties biharmonic on rectangles. The Context Encoder and DeepFill v2 need the
#   papers' budgets (full mode) to show what they can do.
# * PSNR and L1 reward the average of the plausible fillings, a blur; texture costs PSNR. Compare
#   methods with the table *and* the pictures.
