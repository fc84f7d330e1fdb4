# %% [markdown]
# # Lab 07 · MUNIT: AdaIN decoder, latent reconstruction, style sampling
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/labs/07_munit_lab.ipynb)

# %% [markdown]
# MUNIT splits an image into a **content** code (a spatial map shared by both domains) and a
# **style** code (8 numbers, specific to a domain). Its decoder injects the style through AdaIN,
# and its training asks that both codes survive a translation. You will write:
#
# 1. `adain`: adaptive instance normalisation with given means and standard deviations;
# 2. `adain_res_block`: the decoder's residual block, its AdaIN parameters computed by an MLP from
#    the style code;
# 3. `latent_losses`: the content and style reconstruction losses after a cross-domain translation;
# 4. `translate_multimodal`: several translations of one image with style codes drawn from the prior;
# 5. `train_munit(domains, steps, batch_size, seed)`: your AdaIN and latent losses in MUNIT's
#    training step, graded by how well the trained model rebuilds held-out textured shapes from
#    their content and style codes.
#
# **How it works.** Replace each `raise NotImplementedError(...)` with your code, run the cell, then
# run the check cell below it. Do not edit the check cells: they are how your lab is graded
# (`pytest --nbval-lax 07_munit_lab.ipynb`).
#
# **Stuck?** `lab07.hint('adain')` prints a hint for an exercise (the function's name);
# run it again for a more detailed one: first the idea, then the steps and shapes, then nearly
# the code. The error of an unwritten exercise only says where the hints are.
#
# **Time:** about an hour; the final training takes about a minute on a laptop CPU.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="07_munit_lab")

# %%
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import lab07
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn import init_weights
from course_lib.translation import munit
from course_lib.viz import show_rows

# %% [markdown]
# ## Exercise 1 · AdaIN
#
# Instance normalisation removes each channel's mean and standard deviation, image by image; AdaIN
# then imposes new ones (Huang & Belongie 2017, lecture 03):
#
# $$\mathrm{AdaIN}(x, \mu_s, \sigma_s) = \sigma_s\,\frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \epsilon}} + \mu_s$$
#
# where $\mu(x)$ and $\sigma^2(x)$ are computed over the height and width of each channel of each
# image (use the *biased* variance, `unbiased=False`). In style transfer $\mu_s, \sigma_s$ come
# from a style image's features; in MUNIT they are produced by an MLP from the style code.
# `x` is (N, C, H, W); `mean` and `std` are (N, C).

# %%
def adain(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(N, C, H, W) features, (N, C) target means and stds -> (N, C, H, W)."""
    # YOUR CODE HERE
    raise NotImplementedError("adain: not written yet. Run lab07.hint('adain') for a hint")


# %%
lab07.check_adain(adain)

# %% [markdown]
# ## Exercise 2 · The AdaIN residual block, driven by the MLP
#
# MUNIT's decoder starts with residual blocks whose normalisations are AdaIN. The style code
# (N, 8, 1, 1) goes through an MLP that outputs every AdaIN parameter of the decoder at once; for
# one block with C channels that is 4C numbers per image, in the order
# `[mean1, std1, mean2, std2]` (C each). The block computes
#
# $$x + \mathrm{AdaIN}_2\big(\mathrm{conv}_2(\mathrm{ReLU}(\mathrm{AdaIN}_1(\mathrm{conv}_1(x))))\big)$$
#
# `conv1` and `conv2` are given (3x3 convolutions with reflection padding, C -> C channels); use
# your `adain`.

# %%
def adain_res_block(x: torch.Tensor, style: torch.Tensor, mlp: nn.Module, conv1: nn.Module,
                    conv2: nn.Module) -> torch.Tensor:
    """(N, C, H, W) features and (N, style_dim, 1, 1) style codes -> (N, C, H, W)."""
    # YOUR CODE HERE
    raise NotImplementedError("adain_res_block: not written yet. Run lab07.hint('adain_res_block') for a hint")


# %%
lab07.check_adain_res_block(adain_res_block)

# %% [markdown]
# Nothing in the block looks at the style except through AdaIN: the *content* flows through the
# convolutions, the *style* sets each channel's mean and spread. Change the style code and the same
# shapes come out with other colours and textures.
#
# ## Exercise 3 · Latent reconstruction
#
# MUNIT has no pairs and no cycle back to the input image (by default). Instead it asks the codes
# to survive a translation (lecture 07, "cross-domain translation"). With A's content `content_a`
# and a style `style_b` drawn from N(0, I), the translation is `x_ab = gen_b.decode(content_a, style_b)`;
# encoding `x_ab` with B's encoder must give back `content_a` and `style_b`. The same holds the other
# way, with `x_ba = gen_a.decode(content_b, style_a)`. Return the four L1 losses (mean absolute
# differences) in a dict with keys `"content_a"`, `"content_b"`, `"style_a"`, `"style_b"`.
#
# A generator has `encode(x) -> (content, style)` and `decode(content, style) -> image`.

# %%
def latent_losses(gen_a, gen_b, content_a: torch.Tensor, content_b: torch.Tensor, style_a: torch.Tensor,
                  style_b: torch.Tensor) -> dict[str, torch.Tensor]:
    """Content and style reconstruction losses of both translation directions."""
    # YOUR CODE HERE
    raise NotImplementedError("latent_losses: not written yet. Run lab07.hint('latent_losses') for a hint")


# %%
lab07.check_latent_losses(latent_losses)

# %% [markdown]
# Why does the style loss matter? Without it, nothing forces the decoder to *use* the style code:
# it could ignore it and produce one output per content (the mode collapse of pix2pix and
# CycleGAN). Asking that the random code can be read back from the output means the output must
# carry it.
#
# ## Exercise 4 · Sampling styles
#
# To translate an A image into B in several ways: take its content with A's encoder, draw
# `n_styles` codes from B's prior N(0, I), and decode the content with each code using B's decoder.
# Draw the codes in one call, `torch.randn(n_styles, gen_b.style_dim, 1, 1, generator=g)` with
# `g = torch.Generator().manual_seed(seed)`, and use code `k` for output `k` of every image.
# Return a tensor of shape (N, n_styles, C, H, W).

# %%
def translate_multimodal(gen_a, gen_b, x_a: torch.Tensor, n_styles: int, seed: int = 0) -> torch.Tensor:
    """(N, C, H, W) A images -> (N, n_styles, C, H, W) B translations, one per sampled style."""
    # YOUR CODE HERE
    raise NotImplementedError("translate_multimodal: not written yet. Run lab07.hint('translate_multimodal') for a hint")


# %%
lab07.check_translate_multimodal(translate_multimodal)

# %% [markdown]
# ## Exercise 5 · Put it together: train your MUNIT
#
# Now assemble MUNIT's training step (Huang et al., 2018, Fig. 2 and eq. 5) from your pieces and
# train it with a plain PyTorch loop. `train_munit(domains, steps, batch_size, seed)` gets
# `domains["A"]` (sketches) and `domains["B"]` (textured shapes), each (N, 3, 32, 32) in [-1, 1]
# and of *independent* shapes (no pairs), and returns the two trained generators `(gen_a, gen_b)`.
# Build:
#
# * **gen_a**, **gen_b**: `munit.AdaINGenerator(3, dim=16, style_dim=8, n_downsample=1, n_res=2,
#   mlp_dim=64)` (lecture 07's quick size) passed through `munit.kaiming_init`, then through
#   `use_my_adain` below, so that their decoders run *your* `adain`; **dis_a**, **dis_b**:
#   `munit.MultiScaleDiscriminator(3, 16, 3, 2)` passed through `init_weights`;
# * one Adam optimizer for both generators and one for both discriminators: lr 1e-3, betas
#   (0.5, 0.999), weight_decay 1e-4 (the paper's rate is 1e-4);
# * `steps` iterations, each on a batch of `batch_size` sketches and an independent batch of
#   textured shapes drawn at random. Encode both batches (`content_a, own_style_a =
#   gen_a.encode(x_a)`, the same for B), draw random styles `style_a`, `style_b` of shape
#   `(batch_size, 8, 1, 1)` from N(0, I), and translate: `x_ba = gen_a.decode(content_b, style_a)`,
#   `x_ab = gen_b.decode(content_a, style_b)`. Then, in the reference's order:
#   **the discriminators' update** on real images and *detached* translations, with
#   `discriminator_loss(dis_a(x_a), dis_a(x_ba.detach()), "lsgan")` plus the same for B; then
#   **the generators' update** on `generator_loss(dis_a(x_ba), "lsgan")` plus the same for B, plus
#   10 times the **within-domain reconstruction** (the mean absolute error between
#   `gen_a.decode(content_a, own_style_a)` and `x_a`, plus the same for B), plus the four losses
#   of *your* `latent_losses` (weight 1 each). Zero each optimizer's gradients before its
#   backward pass. Call `torch.manual_seed(seed)` first.
#
# The check trains your function on 400 images per domain for 100 iterations (about 30-60 s)
# and then asks `gen_b` to rebuild 64 held-out textured shapes from their own codes,
# `gen_b.decode(*gen_b.encode(x_b))`. The content encoder's instance normalisation removes the
# colours, so they can only come back through the style path (style encoder, MLP, your AdaIN).
# The check passes when the reconstructions are clearly closer to the images (in L1) than the
# trivial answer "always the mean training shape"; the reference solution's scores are printed
# next to yours. A hundred iterations are far too few for the cross-domain translations to be
# good (lecture 07's model trains ten times longer); the figure below shows how far they got.

# %%
class MyAdaINResBlock(munit.AdaINResBlock):
    """The decoder's AdaIN residual block, running your ``adain``."""

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        mean1, std1, mean2, std2 = params.split(self.channels, dim=1)
        y = F.relu(adain(self.conv1(x), mean1, std1))
        return x + adain(self.conv2(y), mean2, std2)


def use_my_adain(gen: munit.AdaINGenerator) -> munit.AdaINGenerator:
    """Make every AdaIN residual block of ``gen``'s decoder run your ``adain``."""
    for module in gen.modules():
        if isinstance(module, munit.AdaINResBlock):
            module.__class__ = MyAdaINResBlock
    return gen


# %%
def train_munit(domains: dict[str, torch.Tensor], steps: int, batch_size: int,
                seed: int) -> tuple[nn.Module, nn.Module]:
    """Train MUNIT on unpaired domains["A"] and domains["B"] ((N, 3, 32, 32) in [-1, 1]); return (gen_a, gen_b)."""
    # YOUR CODE HERE
    raise NotImplementedError("train_munit: not written yet. Run lab07.hint('train_munit') for a hint")


# %%
gen_a, gen_b = lab07.check_train_munit(train_munit)

# %% [markdown]
# Your MUNIT on held-out images: `gen_b`'s reconstructions of textured shapes, then sketches
# translated with the style code of a reference (read by `gen_b`'s style encoder) and with five
# styles drawn from the prior by your `translate_multimodal`. Diversity is the mean L1 distance
# between the outputs made from the same sketch; a deterministic translation such as CycleGAN's
# scores 0.

# %%
train_domains, held_out = lab07.shape_data()
shapes = held_out["B"][:64]
mean_shape = train_domains["B"].mean(0, keepdim=True).expand_as(shapes)
print(f"held-out reconstruction L1: yours {(lab07.reconstruct(gen_b, shapes) - shapes).abs().mean():.3f}, "
      f"the mean training shape {(mean_shape - shapes).abs().mean():.3f}")
sketches, references = held_out["A"][:6], held_out["B"][lab07.GUIDED:lab07.GUIDED + 6]
guided = lab07.guided_translation(gen_a, gen_b, sketches, references)
with torch.no_grad():
    outputs = translate_multimodal(gen_a, gen_b, held_out["A"][:8], n_styles=5, seed=0)
print(f"diversity of 5 translations per sketch: {munit.mean_pairwise_distance(outputs):.3f} "
      "(a one-to-one translation: 0)")
fig = show_rows({"textured shape": shapes[:6], "reconstruction": lab07.reconstruct(gen_b, shapes[:6]).clamp(-1, 1),
                 "sketch": sketches, "reference": references, "guided": guided.clamp(-1, 1),
                 **{f"style {k}": outputs[:6, k].clamp(-1, 1) for k in range(5)}}, value_range=(-1, 1))

# %% [markdown]
# ## Questions
#
# 1. The content encoder uses instance normalisation but the style encoder uses none. Why?
#
# *Your answer here.*
#
# 2. Your translations use styles drawn from N(0, I). How would you instead make a sketch look
#    like one particular textured shape (example-guided translation)?
#
# *Your answer here.*

# %% [markdown]
# **Graded part (question 2).** To translate a sketch (domain A) in the style of one particular
# B image (the reference), where does the style code come from? Return one letter from
# `question_1()`:
#
# * **A** `gen_a`'s content encoder, applied to the reference;
# * **B** `gen_b`'s style encoder, applied to the reference;
# * **C** `gen_a`'s style encoder, applied to the sketch;
# * **D** a random draw from N(0, I).

# %%
def question_1() -> str:
    """One letter: A, B, C or D."""
    # YOUR CODE HERE
    raise NotImplementedError('question_1: not answered yet. Return your answer to the question above.')


# %%
lab07.check_question_1(question_1)

# %% [markdown]
# **Graded part (question 1).** What does instance normalisation remove from each feature map,
# which is why the style encoder must not use it? Return one letter from `question_2()`:
#
# * **A** each channel's mean and standard deviation over the image's positions, the statistics
#   that AdaIN sets to impose a style;
# * **B** the spatial layout: where the edges and objects are;
# * **C** each channel's mean and standard deviation over the whole batch;
# * **D** nothing that carries information: it only makes training more stable.

# %%
def question_2() -> str:
    """One letter: A, B, C or D."""
    # YOUR CODE HERE
    raise NotImplementedError('question_2: not answered yet. Return your answer to the question above.')


# %%
lab07.check_question_2(question_2)
