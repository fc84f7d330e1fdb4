# %% [markdown]
# # 05 · pix2pixHD: coarse-to-fine generators, multi-scale discriminators, instance maps
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/main/lectures/05_pix2pixhd.ipynb)
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
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image"], check=True)

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
# discriminator scales. Full mode: 256x256 scenes and the reference's layer counts.
cfg = by_mode(
    quick=dict(size=64, net=dict(ngf=8, n_downsample_global=2, n_blocks_global=2, n_blocks_local=1, ndf=16,
                                 n_layers=2, num_D=2), stages=(100, 50, 100), batch=4, clusters=4),
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
# The L1-only generator and pix2pixHD (with the boundary map, as the paper uses it) beat the mean
# photo on L1 and PSNR. As in lecture 04, the L1-only model is closest to the targets but paints
# every building and car in an average colour, while pix2pixHD's colours and patch statistics are
# closer to real photos. Without the boundary map, pix2pixHD is no better than the mean photo in
# L1: a generator that draws crisp, realistic details pays for every detail it puts in the wrong
# place, and without the instance boundaries it must guess where one building ends and the next
# begins (and with it, where the building's window grid starts). The seams make this visible:
# with the boundary map, the model draws the dark line between two touching buildings or cars
# where the instance map puts it; without it, a queue of cars becomes one long car.
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

# %% [markdown]
# The draws differ where the objects' appearance is free (cars, buildings) and agree where the
# labels decide (road, sky). With E's features of the real photo, G comes closest to it: the
# encoder carries the appearance information the label map lacks. (With the pretrained model of
# the paper, users pick a cluster per object in an interactive editor.)
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
