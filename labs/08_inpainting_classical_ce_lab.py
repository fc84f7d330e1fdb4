# %% [markdown]
# # Lab 08 · The masked reconstruction loss, the trivial baseline, the Context Encoder's loss
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/labs/08_inpainting_classical_ce_lab.ipynb)

# %% [markdown]
# Every learned inpainting method of the course is trained with some version of one loss: the
# error *inside the hole*. You will write three functions and check each one as you go:
#
# 1. `masked_mse(prediction, target, mask)`: the mean squared error over the hole;
# 2. `mean_colour_fill(image, mask)`: the trivial baseline, each hole filled with the mean colour of
#    its image's known pixels;
# 3. `context_encoder_loss(...)`: the Context Encoder's generator loss, 0.999 x overlap-weighted L2
#    + 0.001 x adversarial;
# 4. `train_context_encoder(...)`: a Context Encoder training loop built on your loss, graded by how
#    well the trained network fills held-out holes compared with your baseline of exercise 2.
#
# Then you use your loss to see what it rewards, and why an L2-trained network paints blur.
#
# **Conventions.** Images are (N, C, H, W) tensors; masks are (N, 1, H, W) with **1 = hole**
# (missing) and 0 = known. The check cells print one line per test case and, if something is
# wrong, the most likely mistake. Do not edit them: they are also how the lab is graded
# (`pytest --nbval-lax 08_inpainting_classical_ce_lab.ipynb`).
#
# **Stuck?** `lab08.hint('masked_mse')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about 75 minutes. Everything runs on a laptop CPU: seconds, except exercise 4's
# training (about half a minute).

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="08_inpainting_classical_ce_lab")

# %%
import torch
import torch.nn.functional as F

from course_lib import by_mode
from course_lib.checks import lab08
from course_lib.inpainting.blending import biharmonic_inpaint
from course_lib.inpainting.context_encoder import ContextEncoder, ContextEncoderDiscriminator
from course_lib.inpainting.datasets import InpaintingImages, gl_rect_mask_fn, inpainting_dataset
from course_lib.inpainting.evaluate import held_out
from course_lib.inpainting.patchmatch import inpaint_patchmatch
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · The reconstruction loss inside the hole
#
# A network that fills holes gets the known pixels for free (they are pasted back from the input),
# so its loss must only measure the hole. Return **one number**: the mean of
# `(prediction - target) ** 2` over every hole pixel of every image of the batch and every channel.
#
# Careful with the normalisation: the mask has one channel, the images have C. Divide by the
# number of hole *values*, not by the number of pixels in the image, so that a small hole and a
# large hole are measured on the same scale.

# %%
def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole (mask == 1): (N, C, H, W), (N, C, H, W), (N, 1, H, W) -> scalar."""
    # YOUR CODE HERE
    raise NotImplementedError("masked_mse: not written yet. Run lab08.hint('masked_mse') for a hint")


# %%
lab08.check_masked_mse(masked_mse)

# %% [markdown]
# ## Exercise 2 · The baseline every method must beat
#
# Fill each hole with the **mean colour of the known pixels of its own image** (one mean per image
# and per channel) and keep the known pixels as they are. No inpainting method is allowed to look
# at the hole's pixels, and neither is this one.

# %%
def mean_colour_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) image and (N, 1, H, W) mask -> (N, C, H, W) with every hole filled by its image's mean colour."""
    # YOUR CODE HERE
    raise NotImplementedError("mean_colour_fill: not written yet. Run lab08.hint('mean_colour_fill') for a hint")


# %%
lab08.check_mean_colour_fill(mean_colour_fill)

# %% [markdown]
# ## Exercise 3 · The Context Encoder's loss
#
# The Context Encoder predicts a square region slightly larger than the hole; the thin known band
# inside that region ("overlap") is there to tie the prediction to the context. Its generator loss
# (`pathak22/context-encoder`, `train.lua`) is
#
# $$ \mathcal{L} = 0.999 \cdot \operatorname{mean}\big(w \odot (\text{fake} - \text{real})^2\big)
#    + 0.001 \cdot \operatorname{BCE}\big(D(\text{fake}), 1\big), $$
#
# with the weight $w = 1$ on hole pixels and $w = 10$ on the known band, the mean taken over all
# values of the region, and the BCE computed on the discriminator's **logits** for the fake region
# with target 1 ("real": the generator wants to fool the discriminator).
#
# Arguments: `fake`, `real` (N, 3, R, R); `hole` (N, 1, R, R), 1 on the missing pixels of the
# region; `d_logits` (N,). Use `F.binary_cross_entropy_with_logits`.

# %%
def context_encoder_loss(fake: torch.Tensor, real: torch.Tensor, hole: torch.Tensor, d_logits: torch.Tensor) -> torch.Tensor:
    """0.999 x overlap-weighted L2 + 0.001 x the generator's adversarial loss (a scalar)."""
    # YOUR CODE HERE
    raise NotImplementedError("context_encoder_loss: not written yet. Run lab08.hint('context_encoder_loss') for a hint")


# %%
lab08.check_context_encoder_loss(context_encoder_loss)

# %% [markdown]
# ## Exercise 4 · Train a Context Encoder with your loss
#
# Assemble the training of Pathak et al. (2016, Sec. 3 and `train.lua`) from your pieces. Write
# `train_context_encoder(images, mask, steps, batch_size, seed)`:
#
# * `images`: (N, 3, 32, 32) training crops in [-1, 1]; `mask`: (1, 1, 32, 32), 1 on the centre
#   hole (14x14, inside the 16x16 centre the network predicts); build a
#   `ContextEncoder(32, nef=16, ngf=16, bottleneck="channelwise")` `G` and a
#   `ContextEncoderDiscriminator(16, ndf=16)` `D` after `torch.manual_seed(seed)`;
# * the centre region is `x[..., off:off + side, off:off + side]` with `off, side = G.region`;
#   the network's input is `G.prepare(batch, mask)` (the hole filled with a constant colour: it
#   must never see the truth inside the hole), its output is the predicted centre (N, 3, 16, 16);
# * each of `steps` iterations: draw `batch_size` random images (use a `torch.Generator` seeded
#   with `seed`), update `D` with the binary cross-entropy on logits (real centres -> 1, fake
#   centres -> 0, the fake *detached*), then update `G` with **your** `context_encoder_loss` on
#   the centre region (the hole cropped to the region, one per image, and `D`'s logits for the
#   fake centre);
# * Adam with `betas=(0.5, 0.999)` for both; learning rates 1e-3 for `G` and 2e-4 for `D`
#   (`train.lua` gives the generator the higher rate); return `G`.
#
# The grader runs your function on its own crops for 250 updates (about half a minute), then
# fills held-out centre holes with `G.inpaint` and compares the hole's L1 with that of the
# mean-colour fill (exercise 2).

# %%
def train_context_encoder(images: torch.Tensor, mask: torch.Tensor, steps: int, batch_size: int,
                          seed: int) -> ContextEncoder:
    """Train G and D for ``steps`` iterations on ``images`` with the centre hole ``mask``; return G."""
    # YOUR CODE HERE
    raise NotImplementedError("train_context_encoder: not written yet. Run lab08.hint('train_context_encoder') for a hint")


# %%
G = lab08.check_train_context_encoder(train_context_encoder)

# %% [markdown]
# Your network's fills of held-out crops next to your mean-colour fill, scored with your
# `masked_mse` (on the [-1, 1] scale of the training):

# %%
ce_test = lab08.context_encoder_test(0)  # the held-out crops the check used
ce_masked = ce_test["image"] * (1 - ce_test["mask"])
ce_fills = {"your CE": G.inpaint(ce_masked, ce_test["mask"]),
            "mean colour": mean_colour_fill(ce_masked, ce_test["mask"])}
for name, fill in ce_fills.items():
    print(f"{name:<12} masked MSE {float(masked_mse(fill, ce_test['image'], ce_test['mask'])):.4f}")
fig = show_rows({"input": ce_masked[:8], **{k: v[:8] for k, v in ce_fills.items()}, "truth": ce_test["image"][:8]},
                value_range=(-1, 1), scale=1.3)

# %% [markdown]
# After half a minute the network has learnt the colour of each hole from its context and a
# little of the texture, noisy and blurred: it beats the flat colour, but only just. Pathak et
# al. trained for days on 128 px images; the shipped checkpoint of lecture 08 shows what longer
# training buys.

# %% [markdown]
# ## Putting it together: what the L2 loss rewards
#
# **Your loss as a score.** On held-out photo and texture crops with rectangular holes, score three
# non-learned fills with **your** `masked_mse`: **your** mean-colour fill, scikit-image's biharmonic
# inpainting (the smoothest continuation of the context) and PatchMatch (copied patches, lecture 08).

# %%
SIZE = by_mode(quick=32, full=128)
test = held_out(inpainting_dataset(InpaintingImages(SIZE, 64, seed=1), gl_rect_mask_fn(SIZE), seed=1), n=16)
masked = test["image"] * (1 - test["mask"])
fills = {"your mean colour fill": mean_colour_fill(masked, test["mask"]),
         "biharmonic": biharmonic_inpaint(masked, test["mask"]),
         "PatchMatch": inpaint_patchmatch(masked, test["mask"], seed=0)}
for name, fill in fills.items():
    print(f"{name:<22} masked MSE {float(masked_mse(fill, test['image'], test['mask'])):.4f}")

# %%
fig = show_rows({"input": masked[:8], **{k: v[:8] for k, v in fills.items()}, "truth": test["image"][:8]},
                value_range=(-1, 1), scale=1.3)

# %% [markdown]
# PatchMatch's fills *look* the most like photographs, yet the squared error prefers the blurry
# biharmonic fill: a sharp patch that is not exactly the missing one is penalised twice, once where
# it has an edge the truth lacks and once where the truth has an edge it lacks.
#
# **Blur wins under L2.** Make it explicit: fill each hole with (a) the truth itself, blurred, and
# (b) a *sharp* patch of the same image taken a few pixels away (plausible texture, wrong position).

# %%
blurred = F.avg_pool2d(F.pad(test["image"], (2, 2, 2, 2), mode="replicate"), 5, stride=1)
shifted = torch.roll(test["image"], shifts=(3, 3), dims=(2, 3))
for name, fill in [("the truth, blurred (5x5 box)", blurred), ("the truth, shifted by 3 px (sharp)", shifted)]:
    filled = test["image"] * (1 - test["mask"]) + fill * test["mask"]
    print(f"{name:<36} masked MSE {float(masked_mse(filled, test['image'], test['mask'])):.4f}")

# %% [markdown]
# **Question.** A network trained with `masked_mse` alone: will its fills look like (a) or (b)?
# What does exercise 3's adversarial term change, and what would it cost in PSNR?
#
# *Your answer here.*

# %% [markdown]
# **Graded part.** A network trained with `masked_mse` alone: which fills does it learn to paint?
# Return one letter from `question_1()`:
#
# * **A** fills like (a), blurred;
# * **B** fills like (b), sharp but slightly off;
# * **C** either, depending on the random initialisation.

# %%
def question_1() -> str:
    """One letter: A, B or C."""
    # YOUR CODE HERE
    raise NotImplementedError('question_1: not answered yet. Return your answer to the question above.')


# %%
lab08.check_question_1(question_1)
