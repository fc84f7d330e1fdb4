# %% [markdown]
# # Lab 02 · Gatys style transfer from scratch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/02_cnn_features_style_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/02_cnn_features_style_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# You will write the pieces of Gatys et al.'s neural style transfer and then run it with them:
#
# 1. `content_loss(features, target)`: $\frac12 \sum (F - P)^2$;
# 2. `gram_matrix(features, normalize)`: batched $G = F F^\top$ of the $(C, HW)$ feature matrix;
# 3. `style_layer_loss(features, target_gram)`: $E_l = \frac{1}{4 N_l^2 M_l^2} \sum (G - A)^2$;
# 4. `total_variation(images)`: a smoothness penalty;
# 5. `optimise_image(loss_fn, init, steps, lr)`: the optimisation loop over pixels;
# 6. `stylise(vgg, content, style, content_layer, style_layers, steps)`: the whole method, assembled
#    from your pieces.
#
# **How it works.** Each exercise is a function with a `raise NotImplementedError(...)` line.
# Replace that line with your code, run the cell, then run the check cell below it. The check
# prints one line per test case and, if something is wrong, the most likely mistake. Do not edit
# the check cells: they are also how your lab is graded (`pytest --nbval-lax 02_cnn_features_style_lab.ipynb`
# passes when every check passes).
#
# **Stuck?** `lab02.hint('content_loss')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour and a quarter. The checks run in seconds; the style transfer of
# exercise 6 in under a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="02_cnn_features_style_lab")

# %%
import torch

from course_lib.checks import lab02
from course_lib.style.gatys import balanced_style_weight
from course_lib.viz import show_images

# %% [markdown]
# Notation of the lecture (and of Gatys et al.): the features of layer $l$ are a tensor
# `(N, C, H, W)`: a batch of $N$ images, $N_l = C$ channels ("filters"), $M_l = H \cdot W$
# positions. Seen as a matrix per image, $F^l \in \mathbb{R}^{N_l \times M_l}$ and $F^l_{ij}$ is
# channel $i$ at position $j$.
#
# ## Exercise 1 · Content loss
#
# The content loss compares the features $F$ of the image being optimised with the features $P$
# of the content photo at one layer:
#
# $$ \mathcal{L}_{content} = \frac12 \sum_{i,j} \left(F_{ij} - P_{ij}\right)^2 $$
#
# a sum over every element of the two tensors (all images, channels and positions).

# %%
def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) features and target -> scalar 1/2 * sum of squared differences."""
    ### BEGIN SOLUTION
    return 0.5 * ((features - target) ** 2).sum()
    ### END SOLUTION


# %%
lab02.check_content_loss(content_loss)

# %% [markdown]
# ## Exercise 2 · Gram matrix
#
# Style is captured by which channels fire *together*, wherever that happens: the inner products
# of every pair of channels over all positions,
#
# $$ G_{ij} = \sum_k F_{ik} F_{jk} \qquad (G = F F^\top, \; C \times C). $$
#
# Write a batched version: `(N, C, H, W) -> (N, C, C)`, one Gram matrix per image. With
# `normalize=True` divide by $C \cdot H \cdot W$ (the convention of feed-forward training in lab
# 03); Gatys uses the raw sums (`normalize=False`, the default).

# %%
def gram_matrix(features: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): G = F F^T per image (divided by C*H*W if normalize)."""
    ### BEGIN SOLUTION
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    g = f @ f.transpose(1, 2)
    if normalize:
        g = g / (c * h * w)
    return g
    ### END SOLUTION


# %%
lab02.check_gram_matrix(gram_matrix)

# %% [markdown]
# ## Exercise 3 · Style loss of one layer
#
# With $A$ the Gram matrix of the style image and $G$ that of the image being optimised (use your
# `gram_matrix`, unnormalised):
#
# $$ E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} \left(G_{ij} - A_{ij}\right)^2 $$
#
# $N_l$ is the number of channels and $M_l = H W$ the number of positions. For a batch, sum over
# the images (the target may be one matrix `(1, C, C)` shared by all). The total style loss
# $\sum_l w_l E_l$ is then a weighted sum over layers.

# %%
def style_layer_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) features, (1 or N, C, C) target Gram -> scalar E_l."""
    ### BEGIN SOLUTION
    _, c, h, w = features.shape
    m = h * w
    g = gram_matrix(features)
    return ((g - target_gram) ** 2).sum() / (4 * c**2 * m**2)
    ### END SOLUTION


# %%
lab02.check_style_layer_loss(style_layer_loss)

# %% [markdown]
# Why the $\frac{1}{4N^2M^2}$? Each Gram entry is a sum over $M$ positions, so $(G - A)^2$ grows
# like $M^2$, and there are $N^2$ entries: the normalisation makes layers of different sizes
# comparable, so that the layer weights $w_l$ mean what they say.
# <!-- BEGIN SOLUTION -->
# Without it, relu1_1 at 64x64 ($M = 4096$) would outweigh relu4_1 at 8x8 ($M = 64$) by a factor
# of about $(4096/64)^2 = 4096$ for features of similar size, so the style would only be matched
# at the finest scale. The 4 comes from the derivative: $\partial E_l / \partial F = \frac{1}{N^2
# M^2} (F^\top (G - A))^\top$ without a stray factor.
# <!-- END SOLUTION -->
#
# ## Exercise 4 · Total variation
#
# Optimised images pick up pixel noise that the network barely sees. A total-variation penalty
# discourages it: the sum of squared differences between vertical neighbours plus those between
# horizontal neighbours, over all images and channels. (No wrap-around: the last row has no
# neighbour below.)

# %%
def total_variation(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> scalar sum of squared vertical and horizontal neighbour differences."""
    ### BEGIN SOLUTION
    dv = images[..., 1:, :] - images[..., :-1, :]
    dh = images[..., :, 1:] - images[..., :, :-1]
    return (dv**2).sum() + (dh**2).sum()
    ### END SOLUTION


# %%
lab02.check_total_variation(total_variation)

# %% [markdown]
# ## Exercise 5 · The optimisation loop
#
# Gatys' method optimises the *image*, not a network. Write `optimise_image(loss_fn, init, steps, lr)`:
#
# * make a copy of `init` that requires a gradient (do not modify `init` itself);
# * create `torch.optim.Adam([image], lr=lr)`;
# * for each step: zero the gradients, compute `loss = loss_fn(image)`, back-propagate, take an
#   optimiser step, then clamp the image to $[0, 1]$ (inside `torch.no_grad()`), and record
#   `loss.item()`;
# * return `(image.detach(), losses)`.
#
# (The lecture also uses L-BFGS, the paper's optimiser; Adam is the one you will meet everywhere.)

# %%
def optimise_image(loss_fn, init: torch.Tensor, steps: int, lr: float = 0.02) -> tuple[torch.Tensor, list[float]]:
    """Minimise loss_fn(image) over the pixels, starting at init; return (image, losses)."""
    ### BEGIN SOLUTION
    image = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(image)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        losses.append(loss.item())
    return image.detach(), losses
    ### END SOLUTION


# %%
lab02.check_optimise_image(optimise_image)

# %% [markdown]
# ## Exercise 6 · Gatys style transfer with your pieces
#
# Now assemble the method. Write `stylise(vgg, content, style, content_layer, style_layers, steps)`
# that returns the stylised image, using only **your** functions for the losses and the loop:
#
# * `vgg(x)` returns a dict `{layer name: (1, C, H, W) features}`; `content` and `style` are
#   `(1, 3, H, W)` images in $[0, 1]$;
# * compute the targets once, without gradients: the content photo's features at `content_layer`
#   and the style image's Gram matrices (your `gram_matrix`, unnormalised) at every style layer;
# * the loss of an image: content loss + `style_weight` x (the mean over the style layers of your
#   `style_layer_loss`) + 1e-4 x your `total_variation`. Only the ratio of the two weights matters,
#   and its good value depends on the network and the image size (lecture 02, section 5): take
#   `style_weight = balanced_style_weight(vgg, content, style, [content_layer], style_layers,
#   balance=20.0)`, which makes the style loss of the photo weigh 20 times the content loss of
#   white noise;
# * optimise with your `optimise_image`, starting from the content photo, for `steps` steps at
#   `lr=0.02`, and return the image.
#
# The loss network is VGG-19 (ImageNet weights when they are cached, otherwise the seeded random
# network the lecture uses: style transfer still works, with different-looking results), cut after
# relu4_1; the images are 64 px. The check runs your function and measures Gatys' two losses of
# the result itself: its style loss must fall at least ten times (one decade) below the content
# photo's, while its content loss stays below the style image's.

# %%
def stylise(vgg, content: torch.Tensor, style: torch.Tensor, content_layer: str, style_layers: list[str],
            steps: int) -> torch.Tensor:
    """Gatys style transfer: the (1, 3, H, W) image in [0, 1] with content's layout and style's Gram matrices."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        content_target = vgg(content)[content_layer]
        style_targets = {k: gram_matrix(v) for k, v in vgg(style).items() if k in style_layers}
    style_weight = balanced_style_weight(vgg, content, style, [content_layer], style_layers, balance=20.0)

    def total_loss(image: torch.Tensor) -> torch.Tensor:
        feats = vgg(image)
        style_term = sum(style_layer_loss(feats[k], style_targets[k]) for k in style_layers) / len(style_layers)
        return (content_loss(feats[content_layer], content_target) + style_weight * style_term
                + 1e-4 * total_variation(image))

    image, _ = optimise_image(total_loss, content, steps, lr=0.02)
    return image
    ### END SOLUTION


# %%
result = lab02.check_stylise(stylise)

# %%
_, content, style = lab02.stylise_inputs(0)
fig = show_images([content[0], style[0], result[0]], (0, 1), titles=["content", "style", "your result"], scale=2.6)

# %% [markdown]
# **Your turn.** Copy `stylise` into a new cell, multiply its `style_weight` by 10 or divide it by
# 10, or pass `"relu2_1"` as the content layer (the balanced weight follows: its content loss sums
# over 16x more positions), and show the results. In a sentence: what does each change do?
#
# <!-- BEGIN SOLUTION -->
# A larger style weight gives up more of the content (the cat dissolves into swirls); a smaller
# one keeps the photo and only tints it. Content from relu2_1 keeps fine detail and exact edges
# (the photo shows through), content from relu4_1 keeps only the layout, so the style can
# redraw the details: Gatys et al.'s Fig. 5.
# <!-- END SOLUTION -->

# %% [markdown]
# ## Question
#
# Why do Gatys et al. divide each layer's style term by $4N^2M^2$ ($N$ channels, $M$ positions)?
# Show the network the same image at twice the size per side, and suppose every feature map is
# simply tiled 2x2: the same statistics, four times the positions.
#
# **Graded part.** By what factor does the un-normalised $\sum (G - A)^2$ of one layer grow?
# Return it from `question_1()` (compute it with your `gram_matrix`, or reason it out).
# **In words:** what would go wrong without the normalisation when layers of different sizes are
# combined?
#
# <!-- BEGIN SOLUTION -->
# Each Gram entry sums over the $M$ positions, so tiling multiplies $G$ and $A$ by 4 and
# $(G - A)^2$ by 16, that is $(M'/M)^2$. Without the normalisation the layers with the most
# positions (relu1_1, the finest) would dominate the style loss, the layer weights $w_l$ would not
# mean what they say, and the style would be matched mostly at the finest scale.
# <!-- END SOLUTION -->

# %%
def question_1() -> float:
    """How many times larger sum((G - A)^2) is when every feature map is tiled 2x2."""
    ### BEGIN SOLUTION
    torch.manual_seed(0)
    f, a = torch.rand(1, 8, 16, 16), torch.rand(1, 8, 16, 16)
    small = ((gram_matrix(f) - gram_matrix(a)) ** 2).sum()
    large = ((gram_matrix(f.repeat(1, 1, 2, 2)) - gram_matrix(a.repeat(1, 1, 2, 2))) ** 2).sum()
    return float(large / small)
    ### END SOLUTION


# %%
lab02.check_question_1(question_1)
