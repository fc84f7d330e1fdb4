# %% [markdown]
# # 00 · Set-up and tour: images as tensors, and a GAN in one page
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/00_setup_and_tour.ipynb)
#
# This course is about networks that take an image and return an image: translating label maps
# into photos, filling holes, transferring style, cutting out a foreground. This first notebook
# shows the tools every later one uses:
#
# 1. the set-up cell, the **quick** and **full** modes, and how to tell what ran where;
# 2. images as tensors: shapes, value ranges, and the one mistake every course makes (showing a
#    [-1, 1] image as if it were [0, 1]);
# 3. the course's data without downloads: photos that ship with scikit-image, and *procedural*
#    datasets computed from a seed;
# 4. a complete GAN in one page of `course_lib`, trained here in under a minute, with a number
#    that shows it learnt;
# 5. checkpoints that survive an interruption and resume exactly.
#
# **Time:** about 1 minute on a laptop CPU (quick mode).

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="00_setup_and_tour")

# %% [markdown]
# Those lines are the first output of every notebook: the versions, the device, the **mode** and
# how long the notebook should take. There are three modes:
#
# * *quick* (the default without a GPU): small images and few steps, so that a notebook runs in
#   minutes on a laptop and in the course's tests;
# * *gpu* (the default with a CUDA GPU, e.g. Colab's free T4): larger images and longer training,
#   each notebook within about 15 minutes on one T4;
# * *full*: the papers' sizes and schedules (hours to days), only when you ask for it.
#
# Choose explicitly with the environment variable `COURSE_MODE=quick`, `gpu` or `full` before
# starting Jupyter. Notebooks never hard-code a size twice; they ask
# `course_lib.by_mode(quick=..., gpu=..., full=...)`.

# %%
import inspect
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from course_lib import by_mode, metrics, tiny_gan
from course_lib.data import Blobs, PhotoCrops, load_photo
from course_lib.tiny_gan import TinyGANTask
from course_lib.train import TrainConfig, Trainer
from course_lib.viz import image_grid, plot_history, show_images, to_numpy_image

print("image size in this mode:", by_mode(quick=64, gpu=128, full=256))

# %% [markdown]
# ## 1. Images are tensors
#
# PyTorch stores an image as a float tensor of shape `(C, H, W)`: channels first (3 for RGB),
# then rows, then columns. A batch adds a leading dimension: `(N, C, H, W)`. NumPy, PIL and
# matplotlib use `(H, W, C)` instead, so showing a tensor means permuting it.

# %%
astronaut = load_photo("astronaut")
print("shape", tuple(astronaut.shape), "dtype", astronaut.dtype,
      f"range [{astronaut.min():.2f}, {astronaut.max():.2f}]")
print("pixel (row 100, column 200), RGB:", astronaut[:, 100, 200].tolist())
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
axes[0].imshow(astronaut.permute(1, 2, 0).numpy())
axes[0].set_title("(C, H, W) -> (H, W, C)", fontsize=9)
for ax, c, name in zip(axes[1:], range(3), ["red", "green", "blue"]):
    ax.imshow(astronaut[c].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"channel {c}: {name}", fontsize=9)
for ax in axes:
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# **Value ranges.** Photos load in [0, 1]. GAN generators end with `tanh`, so they produce [-1, 1],
# and the data they learn from is scaled the same way: `x * 2 - 1`. Shown as if it were in [0, 1],
# a [-1, 1] image loses all its dark half. That is why every `course_lib.viz` function asks for the
# range and refuses images outside it instead of guessing:

# %%
symmetric = astronaut * 2 - 1
try:
    show_images(symmetric, value_range=(0, 1))
except ValueError as err:
    print("ValueError:", err)
fig = show_images([astronaut, symmetric], value_range=(-1, 1), titles=["[0, 1] shown as [-1, 1]", "[-1, 1] shown as [-1, 1]"],
                  scale=2.5)

# %% [markdown]
# The left image is valid in [-1, 1] too (it is in [0, 1]), so no error can catch that one: it is
# simply washed out. Know your ranges.
#
# ## 2. Data without downloads
#
# Real benchmark datasets are large and their servers come and go. The course ships two kinds of
# data that need no network:
#
# * **photographs bundled with scikit-image** (`course_lib.data.load_photo`, `PhotoCrops`);
# * **procedural datasets**: item `i` is rendered from a random generator seeded with
#   `(seed, i)`, so it is identical on every machine, and a held-out split is another seed.
#
# (The real datasets, such as CMP Facades or horse2zebra, download on request with
# `course_lib.data.download(name)`, checked against a sha256; only full mode needs them.)

# %%
crops = PhotoCrops(size=64, length=100, seed=0)
fig = show_images(torch.stack([crops[i] for i in range(8)]), value_range=(0, 1), suptitle="PhotoCrops(size=64): random crops of bundled photos")
blobs = Blobs(length=10_000, size=16, seed=0)
assert torch.equal(blobs[3], Blobs(length=10_000, size=16, seed=0)[3]), "same seed and index, same image"
fig = show_images(torch.stack([blobs[i] for i in range(16)]), value_range=(-1, 1), scale=1.0,
                  suptitle="Blobs: a procedural dataset of 16x16 soft disks in [-1, 1]")

# %% [markdown]
# ## 3. A GAN in one page
#
# A generative adversarial network (Goodfellow et al., 2014) trains two networks against each
# other. The **generator** G turns random noise into an image; the **discriminator** D tries to
# tell G's images from real ones. D learns from its mistakes, G learns from D's gradient, and if
# the game is balanced G's images end up indistinguishable from the data. Every translation and
# inpainting model in this course is this game with a conditional G and a cleverer D.
#
# Here is the complete recipe, as it stands in `course_lib/tiny_gan.py`. Read `TinyGANTask`: the
# three methods are the whole algorithm; the course's `Trainer` runs them in a loop.

# %%
print(inspect.getsource(tiny_gan.TinyGANTask))

# %% [markdown]
# Two details matter in every GAN of the course:
#
# * in the discriminator's update the fake is **detached**: that update must not change G;
# * in the generator's update D is **frozen**, and G is trained to make D say "real" (the
#   *non-saturating* loss, which gives G useful gradients even when D wins easily).
#
# Before training, how far are G's images from real ones? We need a number, not an impression: the
# *sliced Wasserstein distance* between the distributions of 4x4 patches of two image sets
# (`course_lib.metrics.sliced_wasserstein`; 0 = same statistics). Two independent sets of real
# blobs give the floor of this measure.

# %%
held_out = torch.stack([Blobs(length=512, size=16, seed=1)[i] for i in range(512)])
other_real = torch.stack([Blobs(length=512, size=16, seed=2)[i] for i in range(512)])

torch.manual_seed(0)
# DCGAN's learning rate is 2e-4; quick mode takes bigger steps to learn in a few hundred of them.
task = TinyGANTask(lr=by_mode(quick=5e-4, full=2e-4))


def fake_images(task: TinyGANTask, n: int = 512) -> torch.Tensor:
    task.G.eval()
    with torch.no_grad():
        images = task.G(torch.randn(n, task.G.z_dim))
    task.G.train()
    return images


swd_before = metrics.sliced_wasserstein(fake_images(task), held_out)
swd_floor = metrics.sliced_wasserstein(other_real, held_out)
print(f"patch distance, untrained G vs real: {swd_before:.3f}   real vs real: {swd_floor:.3f}")

# %%
steps = by_mode(quick=400, gpu=3000, full=5000)
config = TrainConfig(steps=steps, batch_size=32, log_every=20, sample_every=steps // 4)
trainer = Trainer(task, blobs, config)
history = trainer.fit()
swd_after = metrics.sliced_wasserstein(fake_images(task), held_out)
print(f"{steps} steps in {history.seconds:.1f} s; last logged losses: D {history.last('D/loss'):.3f}, "
      f"G {history.last('G/loss'):.3f} (a confused D would score 2 log 2 = 1.386)")
print(f"patch distance to real blobs: untrained {swd_before:.3f} -> trained {swd_after:.3f} (real vs real {swd_floor:.3f})")
assert swd_after < 0.5 * swd_before, "the GAN should at least halve its distance to the data"

# %%
fig, axes = plt.subplots(1, len(history.samples) + 1, figsize=(13, 3.3),
                         gridspec_kw={"width_ratios": [1] * len(history.samples) + [1.6]})
for ax, (step, images) in zip(axes, history.samples):
    ax.imshow(to_numpy_image(image_grid(images, (-1, 1), nrow=4), (0, 1)))
    ax.set_title(f"step {step}", fontsize=9)
    ax.axis("off")
plot_history(history, ax=axes[-1])
axes[-1].set_title("losses (D: real vs fake, G: fool D)", fontsize=9)
fig.tight_layout()

# %% [markdown]
# A few hundred steps show the mechanics. The course also ships this generator trained much
# longer (`course_lib.pretrained`: 3,000 steps of 64 images, rebuilt from scratch by
# `python -m course_lib.pretrained build tinygan`, its file checked against a sha256). Side by side,
# on the same noise, with the patch distance of 512 samples to held-out real blobs in each title:

# %%
from course_lib import pretrained

shipped = pretrained.load("tinygan")
z = torch.randn(512, shipped.z_dim, generator=torch.Generator().manual_seed(0))
task.G.eval()
with torch.no_grad():
    panels = {"untrained G": TinyGANTask().G.eval()(z), "this notebook's run": task.G(z), "shipped checkpoint": shipped(z)}
task.G.train()
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
for ax, (name, images) in zip(axes, [*panels.items(), ("real blobs (held out)", held_out)]):
    ax.imshow(to_numpy_image(image_grid(images[:16], (-1, 1), nrow=4), (0, 1)))
    ax.set_title(f"{name}\npatch distance {metrics.sliced_wasserstein(images, held_out):.3f}", fontsize=9)
    ax.axis("off")
fig.tight_layout()
shipped_swd = metrics.sliced_wasserstein(panels["shipped checkpoint"], held_out)
print(f"patch distance: this run {swd_after:.3f}, shipped {shipped_swd:.3f}, real vs real {swd_floor:.3f}")
assert shipped_swd < swd_after, "the longer-trained generator should be closer to the data"

# %% [markdown]
# The samples go from noise to coloured disks on a dark background. The losses do not go to zero.
# A perfectly confused D outputs 0.5 for everything, and its loss (real term + fake term) is then
# $2 \log 2 \approx 1.39$; below that, D is still winning some of the time, and G's loss rises
# whenever D improves. A GAN's loss curve is a tug of war, not a descent: judge the *images* (and
# numbers like the patch distance), not the losses.
#
# ## 4. Checkpoints: never lose work
#
# Long runs get interrupted. The trainer writes checkpoints **atomically** (to a temporary file,
# then renamed, so a crash never leaves half a file) and stores everything needed to continue
# *exactly*: weights, optimiser states, random generators and the position in the data stream.
# Interrupting a run (the stop button, Ctrl-C) saves a checkpoint and returns; calling `fit`
# again continues. Here: 40 steps straight, versus 20 steps, save, a fresh trainer, load, 20 steps.

# %%
def tiny_run(checkpoint: Path | None = None, resume: bool = False, until: int | None = None) -> TinyGANTask:
    torch.manual_seed(0)
    t = TinyGANTask()
    cfg = TrainConfig(steps=40, batch_size=16, log_every=10, progress=False,
                      checkpoint_path=str(checkpoint) if checkpoint else None)
    Trainer(t, blobs, cfg).fit(resume=resume, until=until)
    return t


with tempfile.TemporaryDirectory() as folder:
    ckpt = Path(folder) / "tiny.pt"
    straight = tiny_run()
    tiny_run(ckpt, until=20)              # stops at step 20 and saves, as an interruption would
    resumed = tiny_run(ckpt, resume=True)  # a new trainer (or a new process): load, continue
same = all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))
print("bit-identical weights after resuming:", same)

# %% [markdown]
# The same trainer runs from the command line for long jobs, with a run folder, sample PNGs and a
# loss CSV: `python -m course_lib.train tinygan --preset quick --out runs/tinygan` (add `--resume`
# to continue). Every trainable model of the course has such a recipe (`--list` shows them).
#
# ## Summary
#
# * Images are `(C, H, W)` float tensors; know whether yours are in [0, 1] or [-1, 1].
# * The course's data needs no downloads: bundled photos and seeded procedural datasets.
# * A GAN is two updates per step: D on real vs detached fake, G against a frozen D. The loss
#   curves of a GAN do not tell you whether it works; samples and a distance to the data do.
# * Training in `course_lib` is checkpointed atomically and resumes bit for bit.
#
# **Next:** lecture 01, receptive fields and dilated convolutions.
