# %% [markdown]
# # Lab 03 · AdaIN, conditional instance norm and the perceptual loss
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/solutions/03_fast_style_adain_sr_lab.ipynb)

# %% [markdown] tags=["solution-only"]
# **This is the solved version of the lab, for instructors.** Students get
# `labs/03_fast_style_adain_sr_lab.ipynb`, generated from this file by `make labs`.

# %% [markdown]
# You will write the three pieces that make feed-forward style transfer work, then use them:
#
# 1. `adain(content, style)`: adaptive instance normalisation (Huang & Belongie 2017);
# 2. `conditional_instance_norm(x, style_weights, gamma, beta)`: one network, many styles
#    (Dumoulin et al. 2017), including mixtures of styles;
# 3. `perceptual_loss(...)`: Johnson et al.'s feature + style reconstruction loss that trains a
#    network to stylise;
# 4. `train_style_net(...)`: train a small two-style network with your loss and your
#    normalisation layer.
#
# **How it works.** Replace each `raise NotImplementedError(...)` line with your code, run the
# cell, then run the check cell below it. Do not edit the check cells: they are how your lab is
# graded (`pytest --nbval-lax 03_fast_style_adain_sr_lab.ipynb` passes when every check passes).
#
# **Stuck?** `lab03.hint('adain')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour and a quarter; everything runs in seconds on a laptop CPU except the
# training of exercise 4 (under a minute).

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="03_fast_style_adain_sr_lab")

# %%
import torch
from torch import nn

from course_lib import by_mode
from course_lib.checks import lab03
from course_lib.data import load_photo
from course_lib.losses import gram_matrix
from course_lib.style.images import style_image
from course_lib.viz import show_images, show_rows

# %% [markdown]
# ## Exercise 1 · AdaIN
#
# For features `x` (content) and `y` (style), each `(N, C, H, W)`:
#
# $$ \mathrm{AdaIN}(x, y) = \sigma(y)\,\frac{x - \mu(x)}{\sigma(x)} + \mu(y) $$
#
# where $\mu$ and $\sigma$ are the mean and standard deviation of each image's each channel over
# the positions $(H, W)$: tensors of shape `(N, C, 1, 1)` (use `keepdim=True`). Use the
# population variance (`unbiased=False`) and $\sigma = \sqrt{\mathrm{var} + \varepsilon}$. The
# style may have another spatial size than the content, and a single style image `(1, C, H', W')`
# must work for a whole batch (broadcasting does it).

# %%
def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Give each channel of content the mean and std of the same channel of style."""
    ### BEGIN SOLUTION
    mu_c = content.mean(dim=(2, 3), keepdim=True)
    sigma_c = (content.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    mu_s = style.mean(dim=(2, 3), keepdim=True)
    sigma_s = (style.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return sigma_s * (content - mu_c) / sigma_c + mu_s
    ### END SOLUTION


# %%
lab03.check_adain(adain)

# %% [markdown]
# AdaIN works on any features, even on pixels: with RGB as the three "channels" it transfers the
# mean and contrast of each colour. (In the real method it acts on VGG's relu4_1 features, 512
# channels that describe texture, and a trained decoder turns the result back into an image.)

# %%
size = by_mode(quick=96, full=256)
photo = load_photo("astronaut", size)[None]
styles = {name: style_image(name, size)[None] for name in ("swirls", "strokes", "waves")}
recoloured = {name: adain(photo, s).clamp(0, 1) for name, s in styles.items()}
fig = show_rows({"style": torch.cat(list(styles.values())), "AdaIN on pixels": torch.cat(list(recoloured.values()))},
                (0, 1), col_titles=list(styles))

# %% [markdown]
# ## Exercise 2 · Conditional instance normalisation
#
# A network for $S$ styles keeps one scale $\gamma_s$ and shift $\beta_s$ per style and channel
# (`gamma` and `beta` are `(S, C)`). Each image in the batch comes with *style weights*, a row of
# `style_weights` `(N, S)`: one-hot to pick a style, or a mixture such as `[0.5, 0.5, 0]` to blend
# two. The layer instance-normalises `x` (per image and channel, over $(H, W)$, population
# variance, $\varepsilon$ inside the square root), then applies the mixed parameters
#
# $$ \gamma = \sum_s w_s \gamma_s, \qquad \beta = \sum_s w_s \beta_s, \qquad
#    \mathrm{CIN}(x) = \gamma\,\hat x + \beta . $$

# %%
def conditional_instance_norm(x: torch.Tensor, style_weights: torch.Tensor, gamma: torch.Tensor,
                              beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x (N, C, H, W), style_weights (N, S), gamma and beta (S, C) -> (N, C, H, W)."""
    ### BEGIN SOLUTION
    mu = x.mean(dim=(2, 3), keepdim=True)
    sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    g = (style_weights @ gamma)[:, :, None, None]
    b = (style_weights @ beta)[:, :, None, None]
    return g * (x - mu) / sigma + b
    ### END SOLUTION


# %%
lab03.check_conditional_instance_norm(conditional_instance_norm)

# %% [markdown]
# ## Exercise 3 · The perceptual loss of feed-forward training
#
# Johnson et al. train a network $f_W$ so that its output $\hat y = f_W(x)$ has the *content* of
# the photo $x$ and the *style* of a painting. Both terms are measured with VGG features
# (dicts `layer name -> (N, C, H, W)` below):
#
# * feature reconstruction at one layer: the mean squared error between the output's and the
#   photo's features, $\frac{1}{CHW}\lVert\phi(\hat y) - \phi(x)\rVert^2$;
# * style reconstruction at every layer of `style_grams`: the mean squared difference between
#   the output's Gram matrix **normalised by $C H W$** and the target
#   (`style_grams[k]`, shape `(1, C, C)` or `(N, C, C)`, already normalised);
#
# `loss = content + style_weight * style`. Gradients must reach the output's features (the
# network is trained through them); the photo's features are a fixed target.

# %%
def perceptual_loss(out_features: dict, content_features: dict, style_grams: dict, content_layer: str,
                    style_weight: float) -> torch.Tensor:
    """Johnson et al.'s loss for one batch of outputs, from precomputed VGG features."""
    ### BEGIN SOLUTION
    content = nn.functional.mse_loss(out_features[content_layer], content_features[content_layer].detach())
    style = 0.0
    for k, target in style_grams.items():
        g = gram_matrix(out_features[k], normalize=True)
        style = style + ((g - target) ** 2).mean()
    return content + style_weight * style
    ### END SOLUTION


# %%
lab03.check_perceptual_loss(perceptual_loss)

# %% [markdown]
# Why normalise the Gram matrix here, when Gatys did not? <!-- BEGIN SOLUTION -->Divided by
# $CHW$, a Gram entry is an *average* over positions, so the style target computed once from a
# style image of any size can be compared with the Gram matrix of every training output, whatever
# its size. Gatys optimises one image at one size, where the constant only rescales the style
# weight, so he put the normalisation $1/(4N^2M^2)$ into the loss instead.<!-- END SOLUTION -->
#
# ## Putting it together: a two-style network with your layer and your loss
#
# A small image transformation network (Johnson et al.'s design, narrower) whose every
# normalisation is *your* `conditional_instance_norm`, trained on crops of the bundled photos with
# *your* `perceptual_loss`, for two styles at once.

# %%
class CIN(nn.Module):
    """Your conditional_instance_norm with learned (gamma, beta) per style."""

    def __init__(self, channels: int, n_styles: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return conditional_instance_norm(x, w, self.gamma, self.beta)


class TinyStyleNet(nn.Module):
    """conv 9x9 - down - down - 2 residual blocks - up - up - conv 9x9, CIN + ReLU after each conv."""

    def __init__(self, n_styles: int, c: int = 16) -> None:
        super().__init__()
        conv = lambda i, o, k, s=1: nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, s))  # noqa: E731
        self.convs = nn.ModuleList([conv(3, c, 9), conv(c, 2 * c, 3, 2), conv(2 * c, 4 * c, 3, 2),
                                    conv(4 * c, 4 * c, 3), conv(4 * c, 4 * c, 3), conv(4 * c, 4 * c, 3),
                                    conv(4 * c, 4 * c, 3), conv(4 * c, 2 * c, 3), conv(2 * c, c, 3)])
        self.norms = nn.ModuleList([CIN(m[1].out_channels, n_styles) for m in self.convs])
        self.out = conv(c, 3, 9)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        act = lambda i, h: torch.relu(self.norms[i](self.convs[i](h), w))  # noqa: E731
        h = act(2, act(1, act(0, x)))
        for i in (3, 5):  # two residual blocks
            h = h + self.norms[i + 1](self.convs[i + 1](act(i, h)), w)
        h = act(7, nn.functional.interpolate(h, scale_factor=2.0))
        h = act(8, nn.functional.interpolate(h, scale_factor=2.0))
        return torch.sigmoid(self.out(h))


# %% [markdown]
# ## Exercise 4 · Train the two-style network
#
# Write `train_style_net(vgg, photos, style_grams, content_layer, steps, batch_size, seed)`:
#
# * `vgg(x)` returns `{layer: features}` for relu1_1, relu2_1 and relu3_1; `photos` are
#   `(N, 3, 48, 48)` crops in $[0, 1]$; `style_grams[k]` is `(S, C, C)`: the normalised Gram
#   matrices of the $S$ style images at layer `k`;
# * call `torch.manual_seed(seed)`, build `TinyStyleNet(n_styles=S)` and an Adam optimiser
#   (learning rate 2e-3);
# * for each of `steps` steps: draw `batch_size` photos at random and a random style index `s` per
#   photo, turn the indices into one-hot style weights, run the network, and minimise **your**
#   `perceptual_loss` of its output's VGG features against the photos' features (no gradient
#   needed for those) and each image's own style targets (`style_grams[k][s]`), with a style
#   weight of 1e5;
# * return the network.
#
# The check trains your function on its own crops and runs the network on held-out crops, once per
# style. Their style loss (the feed-forward one, against the style selected) must fall below the
# photos' own, while their content loss (against the photos, at relu2_1) stays below that of the
# style images: the network has learned both styles and still draws the photo.

# %%
def train_style_net(vgg, photos: torch.Tensor, style_grams: dict, content_layer: str, steps: int,
                    batch_size: int, seed: int) -> nn.Module:
    """Train a TinyStyleNet on the photos for the styles of style_grams with your perceptual_loss."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    n_styles = next(iter(style_grams.values())).shape[0]
    net = TinyStyleNet(n_styles=n_styles)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(steps):
        x = photos[torch.randint(len(photos), (batch_size,))]
        s = torch.randint(n_styles, (batch_size,))
        w = nn.functional.one_hot(s, n_styles).float()
        fy = vgg(net(x, w))
        with torch.no_grad():
            fx = vgg(x)
        loss = perceptual_loss(fy, fx, {k: g[s] for k, g in style_grams.items()}, content_layer, style_weight=1e5)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net
    ### END SOLUTION


# %%
net = lab03.check_train_style_net(train_style_net)
style_names = list(lab03.STYLES)

# %%
test = load_photo("chelsea", by_mode(quick=64, full=256))[None]
net.eval()
with torch.no_grad():
    outputs = [net(test, torch.tensor([[1.0 - t, t]])) for t in (0.0, 0.5, 1.0)]
fig = show_images([test[0], *[o[0] for o in outputs]], (0, 1),
                  titles=["photo", style_names[0], "50 / 50 mix", style_names[1]], scale=2.4)

# %% [markdown]
# One network, two styles, and a blend of the two that it was never trained on: mixing
# $(\gamma, \beta)$ mixes the styles. With 120 steps on 48 px crops (and, offline, a random VGG)
# the styles show mostly as colour and coarse texture; more steps on larger crops bring out the
# brush strokes (Johnson et al. train for two epochs of COCO, about 40,000 steps).
#
# **Question.** Why does one network need only a few thousand extra numbers per style?
#
# <!-- BEGIN SOLUTION -->
# Dumoulin et al. found that the convolutions compute features that are useful for every style;
# what differs between styles is how strongly each feature channel is expressed and where its
# values are centred, which is exactly what each layer's (gamma, beta) set after normalisation.
# So a style is 2 x (number of normalised channels) numbers.
# <!-- END SOLUTION -->

# %% [markdown]
# **Graded part.** How many numbers does one more style add to `TinyStyleNet(n_styles, c=16)`
# above? Return it from `question_1()`.

# %%
def question_1() -> int:
    """The number of parameters that belong to one style in TinyStyleNet(n_styles, c=16)."""
    ### BEGIN SOLUTION
    net = TinyStyleNet(n_styles=1, c=16)
    return sum(norm.gamma.shape[1] + norm.beta.shape[1] for norm in net.norms)
    ### END SOLUTION


# %%
lab03.check_question_1(question_1)
