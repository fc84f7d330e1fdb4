# %% [markdown]
# # 13 · Capstone II: what pairing buys
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/13_translation_capstone.ipynb)
#
# Lectures 04-07 met three ways to learn a translation, each in its own world: **pix2pix**
# (Isola et al. 2017) learns from *pairs*, an input and its own target; **CycleGAN** (Zhu et al.
# 2017) from two unpaired collections, tied together by cycle consistency; **MUNIT** (Huang et al.
# 2018) from two unpaired collections too, splitting each image into a content code and a style
# code, so that one input has many translations. Pairs are expensive (someone has to make them),
# so the practical questions are: *what is a pair worth? How many pairs beat no pairs at all?
# What does multimodality cost in fidelity?* This capstone measures all three methods, and two
# trivial baselines, on **one task with a hidden truth**, with **one budget** and **one held-out
# set**.
#
# In this lecture you will
#
# 1. set up a translation task in which every test image has a known correct answer;
# 2. train pix2pix on all the pairs, on 10 %, 1 % and 0.1 % of them, and MUNIT without pairs, with
#    one budget, next to the course's shipped CycleGAN;
# 3. read one table of fidelity (L1, PSNR, SSIM against the truth), realism (patch distance),
#    diversity, training time and size;
# 4. draw the curve "fidelity vs fraction of pairs" with the unpaired methods as horizontal lines,
#    and find where pairs stop paying;
# 5. look at every method's output side by side, and learn how to rerun it all on a GPU.
#
# **Time:** about three minutes on a laptop CPU (quick mode). There is no lab: change a setting in
# section 1 and rerun.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="13_translation_capstone")

# %%
import matplotlib.pyplot as plt
import torch

from course_lib import by_mode
from course_lib.standard_metrics import standard_metrics
from course_lib.translation.capstone import (
    UNPAIRED,
    CapstoneConfig,
    assert_beats_identity,
    break_even,
    evaluate,
    format_table,
    fraction_curve,
    fraction_points,
    held_out,
    markdown_table,
    mean_winter,
    pix2pix_name,
    sample_grid,
    train_all,
    training_pool,
    unpaired_training_data,
)
from course_lib.viz import show_rows

# %% [markdown]
# ## 1. A world with a hidden truth
#
# Real unpaired data sets (horses and zebras, summer and winter in Yosemite) have no correct
# answer to compare with: nobody photographed the same horse as a zebra. The course's
# `SeasonScenes` (lecture 06) do: a scene is a *layout* (horizon, mountain ridge, sun, trees,
# flowers) that can be painted in summer or in winter. Winter repaints every region in place (snow
# on the ground and on the top of each crown, a grey sky) and covers the flowers, so each summer
# scene has exactly one true winter scene. The methods never see the truth of the test scenes; we
# use it only to score them.
#
# * **pix2pix** gets pairs: summer scene *i* and *its own* winter. The training pool has the number
#   of pairs printed below; pix2pix is trained on all of them, and on the first 10 %, 1 % and 0.1 %
#   (the smaller sets are nested in the larger ones).
# * **CycleGAN** and **MUNIT** get the same summer scenes, and winter scenes of *other* layouts:
#   two collections, no pair.
# * Every method is scored on the same held-out layouts (another seed), translated summer ->
#   winter. In quick mode this is the test set of the course's shipped CycleGAN.

# %%
cfg = by_mode(quick=CapstoneConfig.quick(), gpu=CapstoneConfig.gpu(), full=CapstoneConfig.full())
print(cfg)
pool = training_pool(cfg)
held = held_out(cfg)
unpaired = unpaired_training_data(cfg)
for fraction, n in zip(cfg.fractions, cfg.pair_counts()):
    print(f"{pix2pix_name(fraction):<14} learns from {n:>6,} pairs")
print(f"CycleGAN, MUNIT learn from {cfg.n_pairs:,} summer scenes and {cfg.n_pairs:,} winter scenes of other layouts")
print(f"held-out: {len(held['A'])} layouts (seed 1) of {cfg.size}x{cfg.size} px, each with its true winter")
print(f"every method trained here: {cfg.steps} iterations of {cfg.batch_size} scenes = "
      f"{cfg.steps * cfg.batch_size:,} training images seen")

# %%
fig = show_rows({"pix2pix: summer": torch.stack([pool[i]["A"] for i in range(6)]),
                 "pix2pix: its winter": torch.stack([pool[i]["B"] for i in range(6)]),
                 "unpaired: summer": torch.stack([unpaired[i]["A"] for i in range(6)]),
                 "unpaired: some winter": torch.stack([unpaired[i]["B"] for i in range(6)])},
                value_range=(-1, 1), scale=1.5)

# %% [markdown]
# Two trivial baselines set the floor. **Identity** returns the summer scene untranslated: it
# keeps the layout perfectly and every colour wrong. **Mean winter** returns the same image for
# every input, the pixel-wise mean of the pool's winter scenes: a grey sky over white ground,
# the best constant answer in squared error, which knows nothing of the layout. A translation has
# to beat both: keep the layout *and* change the colours.
#
# ## 2. Training
#
# pix2pix (lecture 04's U-Net and PatchGAN, cGAN + 100 x L1) at each fraction and MUNIT (lecture
# 07's quick architecture) are trained here with the same number of iterations and the same batch
# size. In quick mode the CycleGAN is lecture 06's shipped checkpoint, the same networks trained
# on this data for longer than this notebook can afford; the GPU and full modes train it here
# with the others' budget. The table's "weights" column says which is which.

# %%
trained = train_all(cfg, pool=pool)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for name, t in trained.items():
    if t.history is not None and name.startswith("pix2pix"):
        axes[0].plot(t.history.value_steps.get("G/l1", []), t.history.values.get("G/l1", []), label=name)
axes[0].set_title("pix2pix: training L1 (its own pairs)")
axes[0].set_xlabel("iteration")
axes[0].legend(fontsize=8)
munit_history = trained["MUNIT"].history
axes[1].plot(munit_history.value_steps.get("G/recon_x", []), munit_history.values.get("G/recon_x", []))
axes[1].set_title("MUNIT: within-domain reconstruction")
axes[1].set_xlabel("iteration")
fig.tight_layout()
small = pix2pix_name(min(cfg.fractions))
print(f"{small}: training L1 {trained[small].history.values['G/l1'][-1]:.3f} at the last log "
      f"(on its {trained[small].pairs} pairs)")

# %% [markdown]
# ## 3. One table
#
# Every row is scored on the same held-out scenes against their true winters:
#
# * **fidelity**: L1 (mean absolute error on the [-1, 1] scale), PSNR and SSIM;
# * **realism**: the course's *patch distance* (lecture 04), the sliced Wasserstein distance
#   between the 4x4 patches of the outputs and those of the true winters. It compares
#   *distributions* of patches, not images, so it rewards outputs that look like winter scenes even
#   when they are not the right ones. FID and KID (Heusel et al. 2017; Binkowski et al. 2018)
#   measure the same thing with an ImageNet-trained Inception network, whose weights the course
#   does not ship (the cell after the table computes them where they are present);
# * **diversity**: the mean L1 distance between outputs for the same input (MUNIT: its random
#   style codes; pix2pix: its dropout, its only noise);
# * training time here (for the shipped CycleGAN: the CPU seconds its build took) and parameters,
#   of the generator that translates summer -> winter at test time and of every network trained.
#
# MUNIT gives *k* outputs per input, with random style codes. **MUNIT (random style)** is what one
# draw gives on average (the mean score over the *k* draws); **MUNIT (best of k)** keeps, per image,
# the draw closest to the truth. Best of k is an oracle: choosing needs the truth. It is what a
# user gets who looks at *k* outputs and picks the right one.

# %%
rows = evaluate(trained, held, mean_winter(pool), k=cfg.k, seed=0)
print(format_table(rows))

# %% [markdown]
# The papers' measures of the same outputs (`course_lib.standard_metrics`, the `metrics` extra):
# FID and KID against the true winters, and LPIPS (Zhang et al. 2018), the distance of each output
# to its own truth in the features of an ImageNet-trained AlexNet. Without their networks'
# weights the cell says what is missing and how to get it, and the table above stands on the
# course's own measures. With a few dozen images FID is biased upwards: compare rows, not papers.

# %%
DOWNLOAD_WEIGHTS = False  # True: fetch the Inception and AlexNet weights (about 330 MB) once, with a network
print(standard_metrics(held["B"], {name: row.outputs for name, row in rows.items()}, value_range=(-1, 1),
                       download=DOWNLOAD_WEIGHTS))

# %% [markdown]
# The course's bar: every method must be closer to the hidden truth than the untranslated input,
# and since pix2pix with all pairs sees the answer during training, it should beat the CycleGAN
# that never does:

# %%
assert_beats_identity(rows, "l1")
assert_beats_identity(rows, "psnr")
full_pairs, cyclegan = rows[pix2pix_name(1.0)], rows["CycleGAN"]
print(f"pix2pix with all pairs: L1 {full_pairs.l1:.4f}, CycleGAN: {cyclegan.l1:.4f} "
      f"({cyclegan.l1 / full_pairs.l1:.2f}x pix2pix's error)")
assert full_pairs.l1 < cyclegan.l1, "pix2pix with all pairs should beat CycleGAN on L1"
for name in UNPAIRED:
    print(f"{name:<21} L1 {rows[name].l1:.4f}  vs mean winter {rows['mean winter'].l1:.4f}  "
          f"PSNR {rows[name].psnr:5.2f} vs {rows['mean winter'].psnr:5.2f} dB")

# %% [markdown]
# ## 4. The curve: fidelity vs fraction of pairs
#
# pix2pix's L1 at each fraction of the pairs (log axis), with the unpaired methods and the
# baselines as horizontal lines (they use no pair). Where the pix2pix curve crosses a line, that
# many pairs buy what the unpaired method gives without any:

# %%
fig = fraction_curve(rows, cfg)
points = fraction_points(rows, cfg)
for name in (*UNPAIRED, "mean winter"):
    f = break_even(points, rows[name].l1)
    if f is not None:
        where = f"crosses it at about {f:.2%} of the pairs ({f * cfg.n_pairs:,.0f} pairs)"
    else:
        side = "better" if points[0][1] < rows[name].l1 else "worse"
        where = f"never crosses it: pix2pix is {side} with every fraction tried, down to {min(cfg.pair_counts())} pairs"
    print(f"{name:<21} L1 {rows[name].l1:.4f}: the pix2pix curve {where}")
for (f0, v0), (f1, v1) in zip(points, points[1:]):
    print(f"pix2pix from {f0:.1%} to {f1:.1%} of the pairs: L1 {v0:.4f} -> {v1:.4f} ({(v1 - v0) / v0:+.0%})")

# %% [markdown]
# ## 5. All results side by side
#
# Four held-out scenes, every method (MUNIT's random style is its first style code), the true
# winter on the right; each panel titled with that image's L1. The 32 px scenes are enlarged
# (nearest neighbour) so that single pixels can be seen.

# %%
fig = sample_grid(rows, held, indices=(0, 1, 2, 3))

# %% [markdown]
# And what MUNIT's multimodality looks like: one summer scene, several style codes.

# %%
munit_task = trained["MUNIT"].model
styles = munit_task.multimodal(held["A"][:3], 6, "AtoB", generator=torch.Generator().manual_seed(0))
fig = show_rows({f"scene #{i}": torch.cat([held["A"][i:i + 1], styles[i].clamp(-1, 1), held["B"][i:i + 1]])
                 for i in range(3)}, value_range=(-1, 1), scale=1.4,
                col_titles=["summer", *[f"style {j}" for j in range(6)], "true winter"])

# %% [markdown]
# ## 6. Discussion
#
# The discussion below rests on a few comparisons; this cell prints them (and, in quick mode,
# checks the ones the text states as facts about this run).

# %%
p100, p10, p1, p01 = (rows[pix2pix_name(f)] for f in (1.0, 0.1, 0.01, min(cfg.fractions)))
munit_random, munit_best = rows["MUNIT (random style)"], rows["MUNIT (best of k)"]
methods = [n for n in rows if n not in ("identity", "mean winter")]
best_unpaired = min(UNPAIRED, key=lambda n: rows[n].l1)
print(f"lowest L1 of all methods: {min(methods, key=lambda n: rows[n].l1)}")
print(f"pix2pix on {p1.pairs} pairs: L1 {p1.l1:.4f}; the best unpaired method ({best_unpaired}): {rows[best_unpaired].l1:.4f}")
print(f"pix2pix on {p10.pairs} vs {p100.pairs} pairs: L1 {p10.l1:.4f} vs {p100.l1:.4f}")
print(f"pix2pix on {p01.pairs} pairs vs CycleGAN: L1 {p01.l1:.4f} vs {cyclegan.l1:.4f}, PSNR {p01.psnr:.2f} vs {cyclegan.psnr:.2f} dB")
print(f"patch distance (realism): pix2pix 100% {p100.patch:.4f}, CycleGAN {cyclegan.patch:.4f}, "
      f"MUNIT best of {cfg.k} {munit_best.patch:.4f}, mean winter {rows['mean winter'].patch:.4f}")
print(f"MUNIT: one random style L1 {munit_random.l1:.4f}, best of {cfg.k} {munit_best.l1:.4f} "
      f"(CycleGAN's single answer: {cyclegan.l1:.4f}); diversity {munit_random.diversity:.4f}, pix2pix's {p100.diversity:.4f}")
per_step = {name: trained[name].seconds / cfg.steps for name in (pix2pix_name(1.0), "MUNIT")}
print(f"seconds per iteration here: pix2pix {per_step[pix2pix_name(1.0)]:.3f}, MUNIT {per_step['MUNIT']:.3f} "
      f"({per_step['MUNIT'] / per_step[pix2pix_name(1.0)]:.0f}x)")
if course_lib.is_quick():  # the statements of the text below, about this run
    assert min(methods, key=lambda n: rows[n].l1).startswith("pix2pix")
    assert p1.l1 < rows[best_unpaired].l1, "1 % of the pairs beats every unpaired method"
    assert abs(p10.l1 - p100.l1) < 0.05 * p100.l1, "the curve is flat from 10 % to 100 %"
    assert cyclegan.patch < 1.5 * p100.patch and cyclegan.patch < rows["mean winter"].patch
    assert p01.l1 < cyclegan.l1 and p01.psnr < cyclegan.psnr, "2 pairs beat CycleGAN in L1, not in PSNR"
    assert munit_best.l1 < cyclegan.l1 < munit_random.l1, "best of k beats CycleGAN, one random draw does not"
    assert munit_random.diversity > 0 and p100.diversity == 0

# %% [markdown]
# **Pairs buy fidelity, not realism.** pix2pix trained on pairs is the closest to the hidden truth
# of all methods. A pair tells the network *which* winter belongs to this summer; CycleGAN only
# knows that its output must look like *some* winter (the adversarial loss) and must lead back to
# the summer it came from (the cycle loss). For a recolouring in place, as here, these two
# constraints already fix most pixels: CycleGAN beats both baselines without a single pair. Its
# patch distance, though, is as low as pix2pix's or lower (printed above): its winters look as
# wintry; they are just not exactly the right winter in every pixel (its speckle and dark trunks in
# the figure, lecture 06). Judged by realism alone, pairs would seem worthless; judged against the
# truth, they are not.
#
# **Where pairs stop paying.** Two readings of the curve. *How many pairs match no pairs?* Where the
# pix2pix curve crosses an unpaired line (printed in section 4). In this run the answer is
# startling: even the smallest set, two pairs, beats CycleGAN in L1 (though not in PSNR: it makes
# fewer small errors and more large ones), and only MUNIT's oracle line is crossed at all. The
# reason is the task: winter repaints every region of a scene in place, so a single pair shows
# the U-Net, region by region, which colour becomes which. What two pairs cannot teach is the
# variety of shapes: the held-out trees and ridges come out garbled (section 5), and the two-pair
# model fits its own pairs far better than new scenes (its training L1, section 2, against its
# held-out L1 in the table): it memorises. *When do more pairs stop helping?* Where the curve goes
# flat: between 10 % and 100 % the L1 barely changes. With one budget of iterations, pix2pix on the
# full pool sees most of its pairs only once (section 1 prints how many training images every
# method sees), and a tenth of them, each seen several times, teaches as much. More pairs pay
# only with more iterations or a larger network: the GPU preset shows where the flat part begins
# when compute is less scarce.
#
# **When an unpaired method is enough.** When no pairs exist (horses and zebras), obviously. And
# when the goal is an output that *looks* right rather than one that is right pixel by pixel: in
# patch distance CycleGAN is in pix2pix's league. Translations that only change appearance in place
# (seasons, textures, painting styles) suit the cycle constraint; translations that move or
# invent geometry (labels -> photo, lecture 04) do not, and there pairs are worth more. This task
# is the friendly case for pairs too: when a handful of pairs can be made by hand, make them.
#
# **What multimodality costs.** Summer -> winter has one right answer; MUNIT is built for tasks with
# many (lecture 07). Its style code changes the brightness, the tint of the snow and the strength
# of the trees' colour (section 5's last figure), so each draw is a different guess, and one random
# draw pays for that diversity in fidelity: it is further from the truth than CycleGAN's single
# answer, and in this run no closer than the mean winter (section 3), while the best of the *k*
# draws beats CycleGAN (printed above). Picking the best needs the truth, or a person looking at *k*
# outputs. Part of MUNIT's error is not the style at all: its outputs keep the layout only coarsely
# (smeared trees, no ridge line, section 5), after a short run with a content code at half the
# image's resolution. On a task with several right answers (lecture 04's facades with random wall
# colours), L1 against *one* truth would punish every method that picks another plausible colour,
# and the best of *k* would gain much more. pix2pix's diversity is zero here: its only noise is
# dropout in the widest inner blocks of the U-Net, which a 32 px U-Net is too shallow to have, and
# Isola et al. (2017, Sec. 2.1) observed only minor stochasticity from it anyway.
#
# **What it costs to train.** An iteration of MUNIT (two auto-encoders, two multi-scale
# discriminators, four extra encodings for the latent losses) costs several pix2pix iterations
# (the ratio is printed above), and the shipped CycleGAN was trained for more iterations than
# anything here: the budgets in the table are *iterations*, and the times show what each costs.
# Per parameter, pix2pix's U-Net is the largest generator here (the table), but its skip
# connections are what let it copy the layout straight through, and copying the layout is most of
# this task.
#
# **What this setting cannot tell.** 32 px scenes, a few hundred iterations, one seed and one
# procedural world in which the right answer is a deterministic recolouring. The ordering of the
# unpaired methods, in particular, can change with longer runs (run the GPU preset); that pairs
# win on fidelity whenever they exist, and that a small share of them is enough when the mapping
# is simple, is what the papers report too (Zhu et al. 2017, Sec. 5.1, compare CycleGAN with
# pix2pix as an upper bound on Cityscapes labels <-> photos).

# %% [markdown]
# ## 7. The same comparison on a GPU
#
# The GPU and full presets train every method here, CycleGAN included (the shipped one is a
# 32 px network): six fractions of a larger pool at 64 px (GPU: about 4 minutes on a T4 by the
# course's FLOP-based estimate in the README's table, not a measurement; allow a quarter of an
# hour), and seven at 128 px with the papers' widths (full: hours). From the command line:
#
# ```bash
# python -m course_lib.translation.capstone --preset gpu --out runs/translation_capstone
# ```
#
# It prints the table and writes it (`table.csv`, `table.md`) with the curve and the sample grid
# into `--out`. Or run this notebook with `COURSE_MODE=gpu`.
#
# ## Summary
#
# * One task with a hidden truth (summer -> winter scenes), one held-out set, one budget of
#   iterations: pix2pix on a shrinking share of the pairs, CycleGAN and MUNIT on none, and two
#   trivial baselines, every method scored on fidelity, realism, diversity, time and size.
# * Pairs buy fidelity: pix2pix with pairs is the closest to the truth, and on this in-place
#   recolouring a handful of pairs already beats the unpaired methods in L1. Realism (patch
#   distance) barely tells the methods apart.
# * Pairs stop paying where the curve goes flat: at a fixed budget, beyond a few hundred pairs
#   here; more pairs need more compute to be worth anything.
# * Multimodality costs fidelity when there is one right answer: a random MUNIT draw is worse than
#   CycleGAN's single answer; only choosing the best of *k* with the truth recovers it.
#
# The table of this run, in Markdown (the closing note of the capstone):

# %%
print(markdown_table(rows))
