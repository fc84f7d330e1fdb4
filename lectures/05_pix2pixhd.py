# %% [markdown]
# # 05 · pix2pixHD: coarse-to-fine generators, multi-scale discriminators, instance maps
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/05_pix2pixhd.ipynb)
#
# pix2pix makes 256x256 images. Asked for 2048x1024 street scenes (Cityscapes), it trains
# unstably and the results lack detail. pix2pixHD (Wang, Liu, Zhu, Tao, Kautz and Catanzaro,
# CVPR 2018) keeps the conditional GAN and changes five things. In this
# lecture you will
#
# 1. see the data pix2pixHD consumes: a label map **and an instance map**, turned into one-hot
#    labels plus an instance **boundary map**;
# 2. meet the coarse-to-fine generator (global generator G1 + local enhancer G2), the multi-scale
#    discriminators and the feature-matching loss, with the reference implementation's sizes;
# 3. train small G1 + G2 models in the paper's three stages (G1 alone, G2 with G1 fixed, both);
# 4. measure what the boundary map buys where two objects of the same class touch;
# 5. train the instance-wise feature encoder, cluster its features per class with k-means, and
#    sample different, plausible outputs for one label map.
#
# **Time:** about 2 minutes on a laptop CPU (quick mode: 64x64 scenes, tiny networks). The lab
# (`labs/05_pix2pixhd_lab.ipynb`) asks you to write the boundary map, the multi-scale
# discriminator and the feature-matching loss.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="05_pix2pixhd")

# %%
import matplotlib.pyplot as plt
import torch

from course_lib import by_mode
from course_lib.data.paired import InMemory, StreetScenes, label_colours
from course_lib.train import TrainConfig, Trainer
from course_lib.translation.pix2pix import format_scores, paired_scores
from course_lib.translation.pix2pixhd import (
    FeatureEncoder,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    Pix2PixHDTask,
    boundary_map,
    cluster_features,
    count_parameters,
    encode_input,
    pix2pixhd_phases,
    same_class_boundaries,
    sample_feature_map,
)
from course_lib.viz import show_images, show_rows

# Quick mode: 64x64 scenes, a G1 with 2 downsamplings and 2 residual blocks, a G2 with 1, two
# discriminator scales. GPU mode (one Colab T4): 128x128 scenes, half the reference's widths.
# Full mode: 256x256 scenes and the reference's layer counts.
cfg = by_mode(
    quick=dict(size=64, net=dict(ngf=8, n_downsample_global=2, n_blocks_global=2, n_blocks_local=1, ndf=16,
                                 n_layers=2, num_D=2), stages=(100, 50, 100), batch=4, clusters=4),
    gpu=dict(size=128, net=dict(ngf=16, n_downsample_global=3, n_blocks_global=6, n_blocks_local=2, ndf=32,
                                n_layers=3, num_D=2), stages=(3_000, 1_000, 3_000), batch=4, clusters=10),
    full=dict(size=256, net=dict(ngf=32, n_downsample_global=4, n_blocks_global=9, n_blocks_local=3, ndf=64,
                                 n_layers=3, num_D=3), stages=(20_000, 5_000, 20_000), batch=1, clusters=10),
)
print(cfg)

# %% [markdown]
# ## 1. Labels, instances and their boundaries
#
# The course's `StreetScenes` render small street scenes with a label map (sky, building, road,
# sidewalk, car, tree) and an instance map (one id per object). The buildings of a row touch one
# another, and so do cars parked bumper to bumper: in the label map they merge into one region.
# Every building and car also gets its own random colour, which the label map does not say.
#
# The generator's input is the label map as one-hot channels (classes have no order) plus the
# **boundary map**: 1 where a pixel's instance id differs from one of its 4 neighbours.

# %%
scenes = StreetScenes(length=400, size=cfg["size"], seed=0)
example = torch.utils.data.default_collate([scenes[i] for i in range(6)])
edges = boundary_map(example["instances"])
seams = same_class_boundaries(example["labels"], example["instances"])
fig = show_rows({"label map": label_colours(example["labels"], StreetScenes.palette),
                 "boundary map": edges.expand(-1, 3, -1, -1) * 2 - 1,
                 "only in the instance map": seams.expand(-1, 3, -1, -1).float() * 2 - 1,
                 "photo": example["target"]}, value_range=(-1, 1), scale=1.6)
x = encode_input(example["labels"], example["instances"], StreetScenes.label_nc)
print(f"generator input: {tuple(x.shape)} = {StreetScenes.label_nc} one-hot label channels + 1 boundary channel")

# %% [markdown]
# The third row shows the boundaries that exist *only* in the instance map: between touching
# buildings and between touching cars. In the photos those are dark seams and outlines. A
# generator that sees only the label map cannot know where to draw them.
#
# ## 2. The architecture, at full size
#
# **Coarse-to-fine generator.** The *global generator* G1 is a ResNet-style translator (a 7x7
# conv, 4 stride-2 downsamplings, 9 residual blocks, 4 upsamplings, a 7x7 conv) running at half
# resolution. The *local enhancer* G2 runs at full resolution: its front end downsamples the input
# once, the result is **added** to G1's last feature map, and G2's own residual blocks and
# upsampling finish the image. The reference's Cityscapes configurations (35 classes + the
# boundary channel = 36 input channels), with parameter counts equal to NVIDIA/pix2pixHD's:

# %%
with torch.device("meta"):  # shapes only: no memory, instant
    g1 = GlobalGenerator(36, 3, ngf=64, n_downsampling=4, n_blocks=9)
    g = LocalEnhancer(36, 3, ngf=32, n_downsample_global=4, n_blocks_global=9, n_blocks_local=3)
    d3 = MultiscaleDiscriminator(36 + 3, ndf=64, n_layers=3, num_D=3)
    e = FeatureEncoder(3, 3, nef=16, n_downsampling=4)
print(f"G1 alone (1024x512 run):           {count_parameters(g1):>12,}")
print(f"G1 + G2 (2048x1024 run):           {count_parameters(g) - count_parameters(g.global_generator.head):>12,}"
      "  (G1's own output layer dropped)")
print(f"3 discriminators (39 channels in): {count_parameters(d3):>12,}")
print(f"feature encoder E:                 {count_parameters(e):>12,}")

# %% [markdown]
# **Multi-scale discriminators.** Three PatchGANs with the same architecture, on the image pair
# at full, half and quarter resolution (3x3 average pooling). The coarsest one's 70x70 field
# covers 280x280 pixels of the original: it judges the global layout; the finest one judges
# texture. Each returns its intermediate feature maps and its scores:

# %%
d_small = MultiscaleDiscriminator(7 + 3, ndf=8, n_layers=3, num_D=3)
for i, feats in enumerate(d_small(torch.randn(1, 10, 128, 128))):
    print(f"scale {i}: input {128 >> i}x{128 >> i} -> " + ", ".join(f"{f.shape[1]}x{f.shape[2]}x{f.shape[3]}"
                                                                     for f in feats))

# %% [markdown]
# **Feature matching.** The generator also minimises the L1 distance between the discriminators'
# intermediate features of the real and the generated image (weight `lambda_feat = 10`, each map
# weighted 4/4 and each scale 1/3, as the reference does), and optionally a VGG perceptual loss
# (same weight, VGG-19 relu1_1...relu5_1 weighted 1/32...1). The GAN loss is LSGAN. Training
# is staged: G1 first, at half resolution; then G2 with G1 fixed; then both together.
#
# ## 3. Training G1 + G2 in three stages
#
# Two pix2pixHD models that differ only in their input: with and without the boundary map. A
# third, the baseline of pix2pix's paper, trains the same generator with L1 alone (no
# discriminator). No VGG loss in quick mode: offline, the course's VGG has random weights.

# %%
train_set = InMemory(scenes, mirror=True)
test_set = InMemory(StreetScenes(length=48, size=cfg["size"], seed=1))
test = test_set.tensors
stages = pix2pixhd_phases(*cfg["stages"])


def train(use_instance: bool = True, use_features: bool = False, gan_mode: str | None = "lsgan") -> Pix2PixHDTask:
    torch.manual_seed(0)
    extra = dict(use_features=True, feat_num=3, nef=8, n_downsample_E=2) if use_features else {}
    task = Pix2PixHDTask(StreetScenes.label_nc, use_instance=use_instance, gan_mode=gan_mode, vgg=False,
                         palette=StreetScenes.palette, **cfg["net"], **extra)
    total = sum(cfg["stages"])
    config = TrainConfig(batch_size=cfg["batch"], lr_decay_start=total - cfg["stages"][2] // 2, log_every=25)
    task.history = Trainer(task, train_set, config, phases=stages).fit()
    print(f"{'pix2pixHD' if gan_mode else 'L1 only'}, boundary map {'on ' if use_instance else 'off'}, encoder "
          f"{'on ' if use_features else 'off'}: {total} steps in {task.history.seconds:.0f} s")
    return task


with_edges = train(use_instance=True)
without_edges = train(use_instance=False)
l1_only = train(gan_mode=None)

# %%
fig, ax = plt.subplots(figsize=(7, 3))
h = with_edges.history
ax.plot(h.value_steps["G/gan"], h.values["G/gan"], label="G: LSGAN")
ax.plot(h.value_steps["G/feat"], [v / 10 for v in h.values["G/feat"]], label="G: feature matching / 10")
ax.plot(h.value_steps["D/loss"], h.values["D/loss"], label="D")
for end in (cfg["stages"][0], cfg["stages"][0] + cfg["stages"][1]):
    ax.axvline(end, color="grey", linestyle="--")
ax.set_xlabel("step (dashed: G1 -> G2 with G1 fixed -> joint)")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 4. Did it learn, and what does the boundary map buy?
#
# On held-out scenes: the trivial baseline (the mean training photo), the L1-only generator and
# the two pix2pixHD models; the last row calibrates the realism columns with real photos of
# *other* scenes (see lecture 04 for the measures). Then we zoom in on the pixels of the
# boundaries that only the instance map shows.

# %%
outputs = {
    "mean training photo": train_set.tensors["target"].mean(0, keepdim=True).expand_as(test["target"]),
    "L1 only (G1 + G2)": l1_only.translate(test),
    "pix2pixHD, no boundary map": without_edges.translate(test),
    "pix2pixHD, with boundary map": with_edges.translate(test),
}
scores = {name: paired_scores(pred, test["target"]) for name, pred in outputs.items()}
other_real = InMemory(StreetScenes(length=48, size=cfg["size"], seed=2)).tensors["target"]
print(format_scores({**scores, "(real photos of other scenes)": paired_scores(other_real, test["target"])}))
for name in ("L1 only (G1 + G2)", "pix2pixHD, with boundary map"):  # the trained models of this lecture
    assert scores[name]["L1"] < scores["mean training photo"]["L1"], f"{name} must beat the mean photo"
    assert scores[name]["PSNR"] > scores["mean training photo"]["PSNR"]

# %%
seam = same_class_boundaries(test["labels"], test["instances"]).expand_as(test["target"])
seam_error = {name: float((pred - test["target"]).abs()[seam].mean()) for name, pred in outputs.items()}
for name, err in seam_error.items():
    print(f"L1 on the seams between touching objects of one class, {name:<30} {err:.4f}")
assert seam_error["pix2pixHD, with boundary map"] < seam_error["pix2pixHD, no boundary map"]

# %%
show = slice(0, 6)
fig = show_rows({"labels": label_colours(test["labels"][show], StreetScenes.palette),
                 "L1 only": outputs["L1 only (G1 + G2)"][show],
                 "no boundary map": outputs["pix2pixHD, no boundary map"][show],
                 "with boundary map": outputs["pix2pixHD, with boundary map"][show],
                 "target": test["target"][show]}, value_range=(-1, 1), scale=1.7)

# %% [markdown]
# After 250 steps these are not photos yet: all three models paint striped textures (the
# transposed convolutions' checkerboards, which a short run has not yet learned to cancel). The
# numbers are still informative. The L1-only generator and pix2pixHD with the boundary map (as
# the paper uses it) beat the mean photo on L1 and PSNR; the L1-only model is closest to the
# targets, pix2pixHD's colours and patch statistics are closer to real photos. On the seams,
# compare the printed errors: the boundary map lowers pix2pixHD's seam error, and in this quick
# run the L1-only model (which also sees the boundary map) has the lowest seam error of all:
# a seam is a thin dark line, and a blurry, darkish average is close to it, while a GAN that
# draws a crisp line one pixel off pays twice.
#
# ### The same models, trained longer
#
# The course ships both pix2pixHD models (with and without the boundary map) trained with the
# same recipe for longer and a little wider (`course_lib.pretrained`; `pretrained.info` says how).
# Below, on the same held-out scenes: labels, the boundaries only the instance map shows (the
# *seams*), the mean photo (trivial baseline), this notebook's quick runs, the shipped models and
# the truth. Each title gives the L1 error over all pixels and on the seams.

# %%
from course_lib import pretrained
from course_lib.pretrained.translation_specs import hd_scores, hd_translate, street_held_out

for name in ("pix2pixhd_noboundary", "pix2pixhd"):
    e = pretrained.info(name)
    print(f"shipped {name:<21} {e['steps']} steps (stages {e['stages']}), batch {e['batch_size']}, "
          f"{e['resolution']} px, ngf {e['net']['ngf']}, {e['wall_s'] / 60:.0f} min on a CPU")
held = street_held_out()  # the 64x64 held-out scenes the checkpoints are scored on
columns = {"mean photo": train_set.tensors["target"].mean(0, keepdim=True).expand_as(held["target"])
           if cfg["size"] == held["target"].shape[-1] else held["target"].mean(0, keepdim=True).expand_as(held["target"])}
if cfg["size"] == held["target"].shape[-1]:  # gpu and full modes train larger: their runs do not fit here
    columns["quick, no boundary"] = without_edges.translate(held)
    columns["quick, boundary"] = with_edges.translate(held)
columns["shipped, no boundary"] = hd_translate(pretrained.load("pix2pixhd_noboundary"), held["labels"], held["instances"])
columns["shipped, boundary"] = hd_translate(pretrained.load("pix2pixhd"), held["labels"], held["instances"])
shipped_scores = {name: hd_scores(pred, held) for name, pred in columns.items()}
for name, sc in shipped_scores.items():
    print(f"{name:<22} L1 {sc['l1']:.3f}   L1 on the seams {sc['seam_l1']:.3f}   patch distance {sc['patch_swd']:.3f}")


# %%
def scene_columns(idx: list[int], crop: slice = slice(None)) -> plt.Figure:
    """Rows: held-out scenes; columns: labels | seams | each model | truth, errors in the titles; rows ``crop``."""
    seams = same_class_boundaries(held["labels"], held["instances"]).float().expand(-1, 3, -1, -1) * 2 - 1
    heads = (["labels", "seams (instance\nmap only)"]
             + [f"{k}\nL1 {shipped_scores[k]['l1']:.3f}\nseams {shipped_scores[k]['seam_l1']:.3f}" for k in columns]
             + ["truth"])
    images, titles = [], []
    for n, i in enumerate(idx):
        row = [label_colours(held["labels"][i:i + 1], StreetScenes.palette)[0], seams[i],
               *(v[i] for v in columns.values()), held["target"][i]]
        images += [r[:, crop] for r in row]
        titles += heads if n == 0 else [""] * len(heads)
    return show_images(torch.stack(images).clamp(-1, 1), value_range=(-1, 1), titles=titles, ncols=len(heads),
                       scale=1.45)


fig = scene_columns([0, 1, 2, 3])
ship_with, ship_without = shipped_scores["shipped, boundary"], shipped_scores["shipped, no boundary"]
print(f"seam error, shipped: with the boundary map {ship_with['seam_l1']:.3f}, without {ship_without['seam_l1']:.3f} "
      f"({1 - ship_with['seam_l1'] / ship_without['seam_l1']:.0%} lower)")
assert ship_with["seam_l1"] < 0.8 * ship_without["seam_l1"]
assert ship_with["l1"] < shipped_scores["mean photo"]["l1"]
roughness = {k: float((columns[k][..., 1:] - columns[k][..., :-1]).abs().mean()) for k in ("shipped, boundary",)}
roughness["real photos"] = float((held["target"][..., 1:] - held["target"][..., :-1]).abs().mean())
print("mean difference between horizontal neighbours: " + ", ".join(f"{k} {v:.3f}" for k, v in roughness.items()))

# %% [markdown]
# Trained longer (and twice as wide), both models draw street scenes: sky, building fronts with
# window grids, the sidewalk, cars on the road, trees. They are still far from clean photos: a
# fine checkerboard noise covers every surface (neighbouring pixels differ about twice as much as
# in the real photos), the typical artefact of transposed convolutions that 1200 steps have not
# trained away. The boundary map's effect is large and is printed above: on the seams between
# touching objects of one class, the model with the boundary map has about a third of the error
# of the model without it, which is only a little better than the mean photo there. Over all pixels the
# difference is small, because seams are a few percent of the pixels. In the figure, look at the
# vertical lines between touching buildings in the seams column: the model with the boundary map
# draws a dark line there; the one without must guess where they are, and often misses them.
# Longer training did not lower the error over all pixels: the quick run with the boundary map
# has the lower L1 (compare the printed rows), and the shipped model with it beats the mean photo
# on L1 only narrowly. What the longer run bought is the seams and the patch statistics. Of all
# the models in this lecture, the shipped model with the boundary map has the lowest seam error;
# within the quick runs, the L1-only model has.
#
# Zoomed in on the road (the lower half of each image), where the cars queue bumper to bumper:

# %%
fig = scene_columns([0, 1, 2, 4, 5], crop=slice(held["target"].shape[-1] // 2, None))

# %% [markdown]
# The same holds for the cars parked bumper to bumper: in the label map they are one blob; the
# model with the boundary map outlines each car where the instance map separates them, while the
# model without it has no way to know where one car ends and the next begins, and draws the
# dividing outlines in guessed places, or not at all (the seam errors above measure this over all
# held-out scenes). The noise makes the individual cars hard to read at this size; the seam error
# is the reliable evidence.
#
# ## 5. The feature encoder: many outputs for one label map
#
# Which colour should a car be? The label map does not say, so a deterministic generator paints
# the average. pix2pixHD adds an encoder E that turns the *real* photo into a 3-channel feature
# map, **averaged over each instance** (every pixel of a car gets the car's mean feature), and
# feeds it to G with the labels. Trained jointly, E learns to encode what G needs and the labels
# lack: here, each object's colour. After training, the features of all training instances are
# clustered per class with k-means; at test time, choosing a cluster per object chooses its look.

# %%
with_features = train(use_features=True)
loader = torch.utils.data.DataLoader([train_set.item(i) for i in range(200)], batch_size=50)  # 200 training scenes
centres = cluster_features(with_features.E, loader, n_clusters=cfg["clusters"])
print({StreetScenes.classes[c]: tuple(v.shape) for c, v in centres.items()})

# %%
one = {k: v[:1] for k, v in test.items()}
samples = torch.cat([with_features.translate(one, sample_feature_map(centres, one["labels"], one["instances"], 3,
                                                                     torch.Generator().manual_seed(s)))
                     for s in range(6)])
encoded = with_features.translate(one, with_features.E(one["target"], one["instances"]))
fig = show_images(torch.cat([label_colours(one["labels"], StreetScenes.palette), samples, encoded, one["target"]]),
                  value_range=(-1, 1), ncols=9, scale=1.5,
                  titles=["labels"] + [f"k-means draw {s + 1}" for s in range(6)] + ["E(real photo)", "real photo"])

# %% [markdown]
# How different are the draws, and does E really carry the appearance? Two numbers: the spread
# over the six draws (pix2pix's dropout gave about 0.02 in lecture 04), and the L1 to the target
# when G gets the features E computes from the *real* photo, compared with a random draw.

# %%
spread = float(samples.std(0).mean())
sampled_l1 = float((samples - one["target"]).abs().mean())
encoded_l1 = float((encoded - one["target"]).abs().mean())
print(f"mean per-pixel standard deviation over 6 draws: {spread:.3f}")
print(f"L1 to the target: random draws {sampled_l1:.3f}, features of the real photo {encoded_l1:.3f}")
assert spread > 0.02 and encoded_l1 < sampled_l1
# where do the draws differ? per-pixel standard deviation over the six draws, next to the labels
spread_map = samples.std(0).mean(0)
fig, axes = plt.subplots(1, 2, figsize=(5.6, 2.6))
axes[0].imshow(((label_colours(one["labels"], StreetScenes.palette)[0] + 1) / 2).permute(1, 2, 0))
axes[0].set_title("labels", fontsize=9)
im = axes[1].imshow(spread_map, cmap="magma")
axes[1].set_title("std over the 6 draws", fontsize=9)
fig.colorbar(im, ax=axes[1], fraction=0.046)
for ax in axes:
    ax.axis("off")
per_class = {StreetScenes.classes[c]: float(spread_map[one["labels"][0] == c].mean())
             for c in one["labels"].unique().tolist()}
print("mean std over the draws, per class: " + ", ".join(f"{k} {v:.3f}" for k, v in per_class.items()))

# %% [markdown]
# At a glance the six draws look much alike: in this quick run (250 steps, 4 clusters per class)
# the generator has learned to use the encoder's features only weakly, and the striped texture
# dominates every image. The spread map shows where they do differ: mostly on the buildings,
# whose colour changes from draw to draw (the per-class numbers above), while sky and road stay
# nearly fixed. With E's features of the real photo, G comes a little closer to it than with a
# random draw: the encoder carries some of the appearance the label map lacks. Making each draw a
# clearly different, clean photo would take much longer training than a notebook can afford.
# (With the pretrained model of the paper, users pick a cluster per object in an interactive
# editor.)
#
# ## 6. Full size
#
# The paper's schedule on Cityscapes: G1 at 1024x512 (200 epochs), then G1 + G2 at 2048x1024
# with G1 fixed for 10 epochs and jointly for 90, three discriminator scales, feature matching
# and the VGG loss. With the data prepared in the reference's layout (`train_label/`,
# `train_inst/`, `train_img/`):
#
# ```bash
# python -m course_lib.train pix2pixhd --data datasets/cityscapes --preset paper
# python -m course_lib.train pix2pixhd --preset quick      # procedural street scenes, minutes on a CPU
# ```
#
# ## Summary
#
# * pix2pixHD = coarse-to-fine generator (G2 adds its full-resolution features to G1's) +
#   discriminators at 3 scales + feature matching (+ VGG) with LSGAN, trained G1 -> G2 -> joint.
# * The instance map's boundaries tell G where touching objects of one class meet: measurably
#   better seams.
# * An encoder with instance-wise average pooling, k-means per class and a random draw per object
#   turns one label map into many plausible photos.
#
# **Next:** the lab (`labs/05_pix2pixhd_lab.ipynb`), then lecture 06: CycleGAN, when the data
# are not paired at all.
