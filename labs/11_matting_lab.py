# %% [markdown]
# # Lab 11 · Matting and compositing
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/labs/11_matting_lab.ipynb)

# %% [markdown]
# You will write six functions and check each one as you go:
#
# 1. `composite(fg, bg, alpha)`: the compositing equation with straight colours;
# 2. `composite_premultiplied(fg_pre, bg, alpha)`: the same with premultiplied colours;
# 3. `make_trimap(alpha, radius)`: a trimap from a matte, by erosion;
# 4. `sad_mse(pred, gt, trimap)`: the two simplest matting errors, over the unknown region;
# 5. `compositional_loss(alpha_pred, fg, bg, image, trimap)`: Deep Image Matting's second loss;
# 6. `train_matting(data, radius, steps, batch_size, seed)`: the matting pipeline assembled from
#    your pieces (trimaps, losses), trained and graded on held-out composites against the
#    trimap-only baselines; then your compositing puts the matted foregrounds on a new background.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 11_matting_lab.ipynb`
# passes when every check passes).
#
# Conventions (as in lecture 11): images are float tensors in [0, 1], (3, H, W) or (N, 3, H, W);
# mattes are (1, H, W) or (N, 1, H, W) in [0, 1]; trimaps hold 0 (background), 0.5 (unknown)
# and 1 (foreground), except where a file's 8-bit values 0 / 128 / 255 are given.
#
# **Stuck?** `lab11.hint('composite')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about 75 minutes. Everything runs on a laptop CPU: seconds, except exercise 6's
# training (about half a minute).

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="11_matting_lab")

# %%
import numpy as np
import torch
from scipy import ndimage

from course_lib.checks import lab11
from course_lib.matting import MattingComposites, disk, fill_unknown, mse, sad
from course_lib.matting.foreground import estimate_foreground
from course_lib.matting.model import MattingNet, predict_alpha
from course_lib.viz import show_images

# %% [markdown]
# ## Exercise 1 · The compositing equation
#
# A pixel covered to a fraction `alpha` by a foreground of colour `F`, in front of a background
# of colour `B`, has the colour `C = alpha * F + (1 - alpha) * B`. Write it for whole images:
# `alpha` has one channel and must broadcast over the three colour channels.

# %%
def composite(fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """(.., 3, H, W) foreground and background, (.., 1, H, W) alpha, all in [0, 1] -> the composite."""
    # YOUR CODE HERE
    raise NotImplementedError("composite: not written yet. Run lab11.hint('composite') for a hint")


# %%
lab11.check_composite(composite)

# %% [markdown]
# ## Exercise 2 · Premultiplied colours
#
# Many file formats and renderers store a layer *premultiplied*: instead of `F` they store
# `F_pre = alpha * F`. Compositing then reads `C = F_pre + (1 - alpha) * B` (Porter & Duff's
# *over* operator). Write it. The trap: `F_pre` already contains the factor `alpha`.

# %%
def composite_premultiplied(fg_pre: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Composite a premultiplied foreground (fg_pre = alpha * F) over bg."""
    # YOUR CODE HERE
    raise NotImplementedError("composite_premultiplied: not written yet. Run lab11.hint('composite_premultiplied') for a hint")


# %%
lab11.check_composite_premultiplied(composite_premultiplied)

# %% [markdown]
# Both conventions give the same picture. Check it on a procedural composite, and look at what
# the classic mix-up (premultiplied colours composited as if they were straight) does to the
# strands over a white background.

# %%
item = MattingComposites(length=1, size=64, seed=2, radius=3)[0]
fg, bg, alpha = item["fg"], item["bg"], item["alpha"]
same = (composite(fg, bg, alpha) - composite_premultiplied(alpha * fg, bg, alpha)).abs().max()
print(f"straight vs premultiplied: max difference {float(same):.1e}")
white = torch.ones_like(fg)
fig = show_images([composite_premultiplied(alpha * fg, white, alpha), composite(alpha * fg, white, alpha)],
                  value_range=(0, 1), titles=["premultiplied, done right", "premultiplied treated as straight"], scale=3)

# %% [markdown]
# ## Exercise 3 · A trimap from a matte
#
# Write `make_trimap(alpha, radius)` for one matte `alpha` of shape (1, H, W):
#
# * *opaque* pixels: `alpha > 1 - 1/510` (they would be 255 in an 8-bit file); *clear* pixels:
#   `alpha < 1/510`;
# * erode both masks with the disk footprint `disk(radius)` (given, from `course_lib.matting`):
#   `ndimage.binary_erosion(mask, disk(radius), border_value=1)`. `border_value=1` keeps the
#   image's own border from eroding the regions;
# * return a float tensor of shape (1, H, W): 1 on the eroded opaque pixels, 0 on the eroded clear
#   pixels, 0.5 everywhere else (the unknown band).
#
# `radius = 0` erodes nothing: then only the partly transparent pixels are unknown.

# %%
def make_trimap(alpha: torch.Tensor, radius: int) -> torch.Tensor:
    """(1, H, W) matte in [0, 1] -> (1, H, W) trimap with values 0, 0.5, 1."""
    # YOUR CODE HERE
    raise NotImplementedError("make_trimap: not written yet. Run lab11.hint('make_trimap') for a hint")


# %%
lab11.check_make_trimap(make_trimap)

# %% [markdown]
# ## Exercise 4 · SAD and MSE over the unknown region
#
# Benchmarks store trimaps as 8-bit images: 0, 128 (unknown) and 255. Write `sad_mse(pred, gt,
# trimap)` where `pred` and `gt` are mattes in [0, 1] of shape (1, H, W) and `trimap` is such an
# 8-bit tensor (`torch.uint8`). Return a tuple of two floats:
#
# * SAD: the sum of `|pred - gt|` over the unknown pixels, **divided by 1000** (as the benchmark
#   tables report it);
# * MSE: the mean of `(pred - gt) ** 2` over the unknown pixels.
#
# The known pixels do not count: the trimap gave them away.

# %%
def sad_mse(pred: torch.Tensor, gt: torch.Tensor, trimap: torch.Tensor) -> tuple[float, float]:
    """SAD / 1000 and MSE of pred against gt over the pixels where the 8-bit trimap is 128."""
    # YOUR CODE HERE
    raise NotImplementedError("sad_mse: not written yet. Run lab11.hint('sad_mse') for a hint")


# %%
lab11.check_sad_mse(sad_mse)

# %% [markdown]
# Your trimap and your errors should agree with the library's. Measure the two trimap-only
# baselines of the lecture on the composite above:

# %%
trimap = make_trimap(alpha, 3)
trimap8 = (trimap * 255).round().to(torch.uint8)
for mode in ("half", "nearest"):
    baseline = fill_unknown(trimap, mode)
    mine = sad_mse(baseline, alpha, trimap8)
    print(f"{mode:>8}: yours SAD {mine[0]:.4f}, MSE {mine[1]:.4f} | library SAD {sad(baseline, alpha, trimap):.4f}, "
          f"MSE {mse(baseline, alpha, trimap):.4f}")
    assert abs(mine[0] - sad(baseline, alpha, trimap)) < 1e-6 and abs(mine[1] - mse(baseline, alpha, trimap)) < 1e-6

# %% [markdown]
# ## Exercise 5 · The compositional loss
#
# Deep Image Matting trains on composites whose true foreground `fg` and background `bg` are
# known. Besides comparing the predicted alpha with the true one, it re-composites `fg` and `bg`
# with the *predicted* alpha and compares the result with the input image:
#
# `c_p = alpha_pred * fg + (1 - alpha_pred) * bg`, loss per value `sqrt((c_p - image) ** 2 + eps ** 2)`
# with `eps = 1e-6`,
#
# averaged over the **unknown pixels** of the trimap (`trimap == 0.5`, here in [0, 1] form) and
# the 3 colour channels: sum the masked values and divide by `3 * number of unknown pixels`.
# Tensors are batched: (N, 1, H, W) for `alpha_pred` and `trimap`, (N, 3, H, W) for the rest.
# Keep it differentiable: the check back-propagates through your loss.

# %%
def compositional_loss(alpha_pred: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor,
                       image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """DIM's compositional loss over the unknown region (a scalar tensor)."""
    # YOUR CODE HERE
    raise NotImplementedError("compositional_loss: not written yet. Run lab11.hint('compositional_loss') for a hint")


# %%
lab11.check_compositional_loss(compositional_loss)

# %% [markdown]
# ## Putting it together: what the compositional loss knows
#
# With the true `fg` and `bg` given, each pixel has 3 equations and a single unknown, alpha. So
# your loss alone should recover the matte, by gradient descent on a free alpha map, starting
# from the trimap-only 0.5 fill. Except where F and B have (almost) the same colour: there every
# alpha explains the pixel and the loss cannot tell.

# %%
image, batch_trimap = item["image"][None], trimap[None]
logits = torch.zeros_like(alpha[None], requires_grad=True)
optimizer = torch.optim.Adam([logits], lr=0.1)
for _ in range(300):
    alpha_pred = torch.where(batch_trimap == 0.5, torch.sigmoid(logits), batch_trimap)
    loss = compositional_loss(alpha_pred, fg[None], bg[None], image, batch_trimap)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
alpha_pred = alpha_pred.detach()[0]
distance = (fg - bg).abs().max(0, keepdim=True).values
unknown = trimap == 0.5
err = (alpha_pred - alpha).abs()
print(f"after 300 steps: loss {loss.item():.5f}; SAD {sad(alpha_pred, alpha, trimap):.4f} "
      f"(0.5 fill: {sad(fill_unknown(trimap, 'half'), alpha, trimap):.4f})")
similar = distance[unknown].quantile(0.05)  # the 5% of unknown pixels where F and B look most alike
print(f"mean |alpha error| where |F - B| > {float(similar):.2f}: {float(err[unknown & (distance > similar)].mean()):.4f}; "
      f"where |F - B| <= {float(similar):.2f}: {float(err[unknown & (distance <= similar)].mean()):.4f}")
fig = show_images([image[0]] + [m.expand(3, -1, -1) for m in (alpha_pred, alpha, distance.clamp(0, 1))],
                  value_range=(0, 1), scale=2.4,
                  titles=["image", "alpha from the loss", "true alpha", "|F - B| (max over RGB)"])

# %% [markdown]
# ## Exercise 6 · A matting network trained with your pieces
#
# At test time F and B are unknown, so a network must predict alpha from the image and the
# trimap alone (Xu et al., 2017, Sec. 4.1). Assemble its training from your functions. Write
# `train_matting(data, radius, steps, batch_size, seed)`:
#
# * `data`: training composites `{"image", "fg", "bg", "alpha"}`, (N, 3, 32, 32) and (N, 1, 32, 32)
#   in [0, 1], **without trimaps**: make one per matte with **your** `make_trimap(alpha, radius)`;
# * after `torch.manual_seed(seed)` build `MattingNet((8, 16, 32), decoder_kernel=3)` (DIM's
#   encoder-decoder, scaled down); `model(image, trimap)` returns alpha (N, 1, H, W);
# * each of `steps` iterations: draw `batch_size` random composites (a `torch.Generator` seeded
#   with `seed`), predict alpha from the image and its trimap, and minimise DIM's loss
#   `0.5 * alpha-prediction loss + 0.5 * your compositional_loss`, where the alpha-prediction loss is
#   `sqrt((alpha_pred - alpha) ** 2 + eps ** 2)` averaged over the unknown pixels (eps = 1e-6);
# * Adam with learning rate 3e-3; return the model.
#
# The grader trains on its own composites (200 updates, about half a minute) and measures the SAD
# of your network's mattes on held-out composites (known pixels taken from the trimap) against
# the two baselines that use the trimap alone: the 0.5 fill and the nearest known pixel.

# %%
def train_matting(data: dict[str, torch.Tensor], radius: int, steps: int, batch_size: int, seed: int) -> MattingNet:
    """Train a MattingNet on ``data`` with trimaps of ``radius`` and DIM's loss; return it."""
    # YOUR CODE HERE
    raise NotImplementedError("train_matting: not written yet. Run lab11.hint('train_matting') for a hint")


# %%
model = lab11.check_train_matting(train_matting)

# %% [markdown]
# **The whole pipeline.** On held-out composites: your network's matte, the foreground colours
# estimated from the image and that matte (`estimate_foreground`, lecture 11), and **your**
# `composite` onto a new, plain background.

# %%
_, matting_test = lab11.matting_data(0)
alpha_net = predict_alpha(model, matting_test["image"], matting_test["trimap"])
new_bg = torch.tensor([0.2, 0.6, 0.3]).view(1, 3, 1, 1).expand_as(matting_test["image"])
fg_est = estimate_foreground(matting_test["image"], alpha_net)
moved = composite(fg_est, new_bg, alpha_net)
for name, a in [("your network", alpha_net), ("0.5 fill", fill_unknown(matting_test["trimap"], "half")),
                ("nearest known", fill_unknown(matting_test["trimap"], "nearest"))]:
    print(f"{name:<14} SAD {sad(a, matting_test['alpha'], matting_test['trimap']):.4f}, "
          f"MSE {mse(a, matting_test['alpha'], matting_test['trimap']):.4f}")
show = list(range(4))
fig = show_images([matting_test["image"][i] for i in show] + [alpha_net[i].expand(3, -1, -1) for i in show]
                  + [moved[i] for i in show], value_range=(0, 1), ncols=4, scale=2)

# %% [markdown]
# Rows: held-out composites, your network's mattes, the foregrounds moved onto a green backdrop.
# The solid cores and the soft veils come out right; the thinnest strands, one or two pixels wide
# at 32 px, are the hardest part, as in the lecture's larger runs.

# %% [markdown]
# ## Question
#
# At test time a matting network does not know F and B, so it cannot use this loss. What does the
# compositional loss teach the network during training that the alpha-prediction loss alone does
# not? Think of a pixel where the foreground and the background have almost the same colour.
#
# *Your answer here.*

# %% [markdown]
# **Graded part.** One pixel, one channel: the foreground is $F = 0.55$, the background
# $B = 0.45$ (almost the same colour), the true alpha $0.9$ and the predicted alpha $0.2$. What is
# the compositional error $|\alpha_p F + (1 - \alpha_p) B - I|$ of that pixel (ignore
# $\epsilon$)? Compare it with the alpha error $|\alpha_p - \alpha_g|$. Return it from
# `question_1()`.

# %%
def question_1() -> float:
    """The compositional error of the pixel described above (one channel, without epsilon)."""
    # YOUR CODE HERE
    raise NotImplementedError('question_1: not answered yet. Return your answer to the question above.')


# %%
lab11.check_question_1(question_1)
