# %% [markdown]
# # 02 · Seeing with CNN features: feature inversion and Gatys style transfer
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/02_cnn_features_style.ipynb)
#
# A convolutional network trained to classify images turns a picture into a stack of feature
# maps. This lecture asks what those features keep of the picture, and then uses the answer to
# paint: *neural style transfer* renders the **content** of one image (its global structure) in
# the **style** of another (its colours and local structures).
#
# In this lecture you will
#
# 1. meet VGG-19's named feature maps, and the offline fallback the course uses without its weights;
# 2. invert features (Mahendran & Vedaldi, 2015): find an image whose features at one layer match
#    a photo's, and measure that deeper layers keep the layout and lose the detail;
# 3. build Gatys et al.'s content loss and Gram-matrix style loss, and see why the Gram matrix is
#    normalised one way here and another way in feed-forward training (lecture 03);
# 4. synthesise textures from style alone, layer by layer;
# 5. transfer style by optimising pixels with L-BFGS (the paper's optimiser) and with Adam;
# 6. choose the content layer, and trade content for style with a slider.
#
# **Time:** about 2 minutes on a laptop CPU (quick mode: 64 px images, a few hundred loss
# evaluations). Full mode uses 512 px images and the papers' step counts. The lab
# (`labs/02_cnn_features_style_lab.ipynb`) asks you to write the losses and the loop yourself.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="02_cnn_features_style")

# %%
import matplotlib.pyplot as plt
import torch
from torchvision.transforms.v2.functional import gaussian_blur

from course_lib import by_mode, is_quick, losses, metrics
from course_lib.data import load_photo
from course_lib.style import VGGFeatures
from course_lib.style.gatys import (
    balanced_style_weight,
    invert_features,
    layout_and_detail,
    style_transfer,
    weight_sweep,
)
from course_lib.style.images import load_user_image, style_image
from course_lib.viz import show_images, show_rows
from course_lib.widgets import StyleWeightExplorer

device = setup.device
SIZE = by_mode(quick=64, gpu=256, full=512)
print(f"images: {SIZE}x{SIZE} px")

# %% [markdown]
# ## 1. The feature extractor
#
# Gatys et al. use VGG-19 (Simonyan & Zisserman 2014), a plain stack of 3x3 convolutions in five
# blocks separated by 2x2 pooling. `course_lib.style.VGGFeatures` names every layer the way the
# papers do (`conv3_1` is the first convolution of block 3, `relu3_1` its ReLU), normalises
# [0, 1] images with the ImageNet mean and std itself, and runs only up to the deepest layer you
# ask for.
#
# **Weights.** The real VGG-19 was trained on ImageNet (548 MB, downloaded once and checked
# against its checksum, in any mode, when the machine has a network, e.g. on Colab). Offline, and
# in the course's tests (`COURSE_OFFLINE=1`), nothing is downloaded: a warning is printed and a
# *seeded random* VGG-19 is used instead. The outputs stored with this notebook were made that
# way. That is less of a compromise than it sounds: the features of a random deep network still
# carry image statistics (Ustyuzhaninov et al. 2017 synthesise convincing textures with random
# filters), so everything in this lecture works and is measured with it. The pictures differ from
# the papers'; run with a network to see those.

# %%
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
vgg = VGGFeatures(layers=LAYERS).to(device)
print("weights:", vgg.weights_source)
content = load_photo("chelsea", SIZE)[None].to(device)
with torch.no_grad():
    feats = vgg(content)
for name, f in feats.items():
    _, c, h, w = f.shape
    print(f"{name}: {c:3d} channels x {h:3d} x {w:3d} = {c * h * w:7,d} numbers (the image has {3 * SIZE * SIZE:,})")

# %%
# Lecture 01's analytic receptive field, applied to VGG-19's layer geometry (the weights don't matter).
from course_lib.receptive_field import layers_from_module, receptive_field
from course_lib.style.vgg import build_features, layer_names

vgg_names, vgg_geometry = layer_names("vgg19"), build_features("vgg19")
for name in (*LAYERS, "relu5_4"):
    rf = receptive_field(layers_from_module(vgg_geometry[: vgg_names.index(name) + 1]))
    print(f"{name}: a unit sees {rf.size:.0f} x {rf.size:.0f} input pixels (units {rf.jump:.0f} px apart)")

# %% [markdown]
# Each block halves the resolution and (up to block 4) doubles the channels: deeper layers describe
# fewer positions with more numbers each, and each of their units sees a larger part of the image
# (the receptive fields printed above: 156 pixels for relu5_1, 252 for relu5_4, the last layer).
#
# ## 2. Feature inversion: what does a layer keep?
#
# Mahendran & Vedaldi (2015) ask which images a network cannot tell apart. Given the features
# $\Phi_0 = \Phi(x_0)$ of a photo at one layer, find
#
# $$ x^* = \arg\min_x \frac{\lVert \Phi(x) - \Phi_0 \rVert^2}{\lVert \Phi_0 \rVert^2} + \lambda R(x), $$
#
# starting from white noise. The regulariser $R$ (here total variation, the squared differences of
# neighbouring pixels) stops the optimiser from hiding energy in pixel noise that the features
# cannot see. Whatever structure appears in $x^*$ is what the layer remembers. We invert each of
# the five layers with L-BFGS, the quasi-Newton method the papers use.

# %%
inv_evals = by_mode(quick=80, gpu=300, full=500)
vgg_max = VGGFeatures(layers=LAYERS).to(device)  # max pooling, as the network was trained
inversions = {}
for layer in LAYERS:
    res = invert_features(vgg_max, content, layer, evaluations=inv_evals, tv_weight=1.0)
    inversions[layer] = res.image
    print(f"{layer}: feature loss {res.history['features'][0]:.3f} -> {res.history['features'][-1]:.4f} "
          f"in {res.evaluations} evaluations ({res.seconds:.1f} s)")

# %%
print(f"{'layer':<9}{'PSNR (dB)':>10}{'layout corr.':>14}{'detail corr.':>14}")
scores = {}
for layer, img in inversions.items():
    layout, detail = layout_and_detail(img, content)
    scores[layer] = (float(metrics.psnr(img, content, (0, 1))), layout, detail)
    print(f"{layer:<9}{scores[layer][0]:>10.1f}{layout:>14.2f}{detail:>14.2f}")
images = torch.cat([content, *inversions.values()]).cpu()
fig = show_rows({"reconstruction": images, "blurred (layout)": gaussian_blur(images, [13, 13], [2.0, 2.0])}, (0, 1),
                col_titles=["photo", *[f"from {k}" for k in inversions]], scale=1.9)

# %% [markdown]
# "Layout" is the correlation of the two images after a Gaussian blur (the second row: large
# shapes, colour regions); "detail" the correlation of what the blur removes (edges, fur). The
# first two layers keep almost everything: 64 or 128 channels per pixel are plenty to pin down 3
# colours. From relu3_1 on, the detail correlation collapses while the layout survives longer:
# blurred, the reconstruction from relu3_1 is clearly the cat (eyes, nose, the light muzzle), and
# relu4_1 still correlates with the photo's layout while sharing none of its detail; relu5_1
# keeps only a trace. Many images share the deep features of this
# photo, and the optimiser found one of them; the remaining pixel noise is invisible to the deep
# layers of our random network (with the ImageNet weights, which every mode uses when it can
# download them, the reconstructions are smoother and more recognisable, as in Mahendran & Vedaldi's figures). This is the property
# style transfer exploits: **match the deep features of a photo to keep its content, and you are
# free to change its details.**

# %%
shallow, deep = scores["relu1_1"], scores["relu5_1"]
assert deep[2] < shallow[2] - 0.2, "deep layers should lose the detail"
assert deep[1] > deep[2], "deep layers keep more of the layout than of the detail"

# %% [markdown]
# ## 3. Content and style losses (Gatys, Ecker & Bethge 2016)
#
# Write the features of layer $l$ as a matrix $F^l \in \mathbb{R}^{N_l \times M_l}$: $N_l$
# channels ("filters") by $M_l = H W$ positions. $P^l$ are the content photo's features.
#
# **Content** is the features themselves: $\mathcal{L}_{content} = \frac12 \sum_{ij} (F^l_{ij} - P^l_{ij})^2$.
#
# **Style** is what is left when you forget *where* things are: which channels fire together. The
# Gram matrix $G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}$ ($N_l \times N_l$) sums over all positions,
# so it keeps colour and texture statistics and discards the layout. With $A^l$ the Gram matrix of
# the style image,
#
# $$ E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{ij} (G^l_{ij} - A^l_{ij})^2, \qquad
#    \mathcal{L}_{style} = \sum_l w_l E_l, \qquad
#    \mathcal{L}_{total} = \alpha \mathcal{L}_{content} + \beta \mathcal{L}_{style}. $$
#
# `course_lib.losses` implements these exactly. A 2-channel, 2x2 example by hand:

# %%
f = torch.tensor([[[[1.0, 2.0], [0.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]]])  # (N=1, C=2, H=2, W=2)
print("F as a (C, H*W) matrix:\n", f.reshape(2, 4))
print("G = F F^T:\n", losses.gram_matrix(f)[0])
print("E against A = 0:", float(losses.style_layer_loss(f, torch.zeros(1, 2, 2))),
      "= (36 + 4 + 4 + 25) / (4 * 2^2 * 4^2) =", (36 + 4 + 4 + 25) / (4 * 4 * 16))
print("G / (C*H*W), the feed-forward normalisation:\n", losses.gram_matrix(f, normalize=True)[0])

# %% [markdown]
# **Two normalisations of the Gram matrix.** This course uses both, and they are not a mistake:
#
# * **Gatys (here): raw $G = FF^\top$ and $\frac{1}{4N_l^2M_l^2}$ in the loss.** $G$ sums over
#   $M_l$ positions, so $(G - A)^2$ grows like $M_l^2$; there are $N_l^2$ entries. Dividing by
#   $N_l^2 M_l^2$ puts layers of very different sizes on the same footing, so that the layer
#   weights $w_l$ mean what they say (and the 4 cancels the 2s of the derivative). One image is
#   optimised at one size, so any further constant only rescales $\beta$.
# * **Feed-forward training (lecture 03): $G / (C H W)$ and a plain squared error.** Johnson et
#   al. compare the Gram matrix of every *training output* with a target computed *once* from the
#   style image. Divided by $CHW$, a Gram entry is an average over positions, so targets and
#   outputs of different sizes are comparable, and the loss does not grow with the crop size.
#
# ## 4. Style alone: texture synthesis, layer by layer
#
# Set $\alpha = 0$ and start from noise: the optimiser must produce *some* image with the style
# image's Gram matrices, and nothing else. Which structures does each layer's Gram matrix
# capture? Gatys et al. (Fig. 1) add layers one by one; we match one layer at a time, which shows
# each layer's contribution on its own.

# %%
style = style_image("swirls", SIZE)[None].to(device)
tex_evals = by_mode(quick=60, gpu=300, full=500)
vgg_avg = VGGFeatures(layers=LAYERS[:4], pooling="avg").to(device)  # Gatys: average pooling for synthesis
textures = {}
for layer in LAYERS[:4]:
    res = style_transfer(content, style, vgg_avg, content_layers=("relu1_1",), style_layers=(layer,),
                         content_weight=0.0, style_weight=1e6, evaluations=tex_evals)
    textures[f"only {layer}"] = res.image
    print(f"style from {layer} only: style loss {res.history['style'][0]:.3g} -> {res.history['style'][-1]:.3g} "
          f"({res.history['style'][0] / res.history['style'][-1]:.0f}x lower)")
fig = show_images([style[0].cpu(), *[t[0].cpu() for t in textures.values()]], (0, 1),
                  titles=["style image", *textures], scale=2.0)

# %% [markdown]
# relu1_1 sees 3x3 pixels: its Gram matrix pins down the colours and their finest mixtures, and
# the result is the palette in small blobs. relu2_1 (a 10-pixel window) groups them into larger
# patches. Deeper layers see larger windows, but our *random* deep layers respond weakly to
# pixel-level noise, so their syntheses keep some of the starting noise; with ImageNet weights
# (downloaded whenever a network is available) they produce the strokes and swirls of the painting. Gatys et al. use all of them
# together, so that every scale is matched.
#
# ## 5. Style transfer: L-BFGS and Adam
#
# Now both terms. The quick mode uses relu1_1 ... relu4_1 for style and relu4_1 for content (the
# paper: relu5_1 too, and conv4_2 for content; in full mode we use the paper's layers) with equal
# layer weights $w_l = 1/L$.
#
# *How large should $\beta / \alpha$ be?* Only the ratio matters, but the raw losses' scales depend
# on the network's weights, its input normalisation and the number of pixels (the content loss is
# a sum over all positions, each $E_l$ is normalised). Gatys et al.'s $\alpha/\beta$ of 1e-3 to
# 1e-4 holds for their Caffe VGG on 0-255 pixels and means nothing for our random network on
# [0, 1] images. `balanced_style_weight` picks a ratio that works for any set-up: the one at which
# the style loss of the photo weighs 20 times the content loss of white noise, so that both terms
# start large. Section 7 sweeps around it.
#
# We compare the paper's L-BFGS with Adam for the same number of *loss evaluations* (one forward
# and backward pass each, the unit of cost: one L-BFGS step evaluates up to 20 times). Gatys et
# al. start from white noise; starting from the photo reaches the same kind of result in far
# fewer evaluations (their Fig. 6 shows that the start matters little for the final image), so
# quick mode starts from the photo and full mode from noise, as the paper.

# %%
if is_quick():
    content_layers, style_layers = ("relu4_1",), LAYERS[:4]
else:  # the paper's layers
    content_layers, style_layers = ("relu4_2",), LAYERS
nst_vgg = VGGFeatures(layers=tuple(dict.fromkeys(style_layers + content_layers)), pooling="avg").to(device)
ratio = float(f"{balanced_style_weight(nst_vgg, content, style, content_layers, style_layers, balance=20.0):.1g}")
print(f"beta / alpha = {ratio:g} (rounded to one digit)")
evals = by_mode(quick=150, gpu=500, full=1000)
start = by_mode(quick="content", full="noise")
runs = {}
for optimizer in ("lbfgs", "adam"):
    runs[optimizer] = style_transfer(content, style, nst_vgg, content_layers, style_layers, content_weight=1.0,
                                     style_weight=ratio, evaluations=evals, optimizer=optimizer, init=start)
    h = runs[optimizer].history
    print(f"{optimizer:>5}: total loss {h['total'][0]:9.3f} -> {h['total'][-1]:7.3f} ({runs[optimizer].reduction:5.1f}x lower) "
          f"| content {h['content'][0]:.3g} -> {h['content'][-1]:.3g} | style {h['style'][0]:.3g} -> {h['style'][-1]:.3g} "
          f"| {runs[optimizer].seconds:.1f} s")

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for name, run in runs.items():
    ax.plot(run.history["total"], label=name)
    print(f"{name:>5}: total loss after 25 evaluations {run.history['total'][24]:.3g}, after {evals}: {run.history['total'][-1]:.3g}")
ax.set_yscale("log")
ax.set_xlabel("loss evaluations (forward + backward passes)")
ax.set_ylabel("total loss")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
fig = show_images([content[0].cpu(), style[0].cpu(), runs["lbfgs"].image[0].cpu(), runs["adam"].image[0].cpu()], (0, 1),
                  titles=["content", "style", "L-BFGS", "Adam"], scale=2.4)

# %% [markdown]
# Both optimisers cut the total loss by more than ten times from its start. L-BFGS builds a
# curvature model from its recent gradients: its first evaluations are line-search probes (the
# spikes), after which it falls fastest; Adam only rescales each pixel's step by its gradient
# history and needs a few dozen evaluations to catch up. Which one ends lower after a fixed budget
# depends on the problem; the printed numbers say what happened here. (A practical detail: pixels
# must stay in [0, 1]. Adam simply clamps them after every step; for L-BFGS that would move the
# point behind its back and spoil its curvature model, so `optimise_image` lets it optimise $z$
# with $x = \mathrm{sigmoid}(z)$ instead.)

# %%
for name, run in runs.items():
    assert run.reduction >= 10, f"{name}: the total loss should fall at least 10x from its start"

# %% [markdown]
# ## 6. Which layer carries the content?
#
# Gatys et al.'s Fig. 5 compares content taken from a shallow layer (conv2_2)
# and a deep one (conv4_2): the shallow layer pins down the exact pixels, so the style can only
# tint them; the deep one keeps the layout and lets the style redraw the details. Shallow layers
# have many more positions, so their content loss is larger and needs a larger style weight.

# %%
layer_evals = by_mode(quick=100, gpu=300, full=500)
content_choice = {}
for layer, weight in [("relu2_1", 16 * ratio), ("relu4_1", ratio)]:
    ext = VGGFeatures(layers=tuple(dict.fromkeys(LAYERS[:4] + (layer,))), pooling="avg").to(device)
    res = style_transfer(content, style, ext, (layer,), LAYERS[:4], style_weight=weight, evaluations=layer_evals,
                         init="content")
    content_choice[f"content from {layer}"] = res.image
    print(f"content from {layer}: total loss {res.history['total'][0]:.3g} -> {res.history['total'][-1]:.3g} "
          f"({res.reduction:.1f}x lower); detail correlation with the photo "
          f"{layout_and_detail(res.image, content)[1]:.2f}")
fig = show_images([content[0].cpu(), *[v[0].cpu() for v in content_choice.values()]], (0, 1),
                  titles=["photo", *content_choice], scale=2.4)

# %% [markdown]
# ## 7. Content versus style: the weight ratio
#
# One more run per ratio $\beta/\alpha$, all from the photo. Slide to compare: at small ratios the
# photo survives with a tint; at large ones the swirls take over. (The slider shows results
# computed here in advance; it needs a live kernel. The figure below shows them all.)

# %%
sweep_ratios = [ratio * 10**k for k in (-2, -1, 0, 1)]
sweep = weight_sweep(content, style, sweep_ratios, nst_vgg, evaluations=by_mode(quick=50, gpu=200, full=300),
                     content_layers=content_layers, style_layers=style_layers, init="content")
for r, lc, ls in zip(sweep.ratios, sweep.content_losses, sweep.style_losses):
    print(f"beta/alpha = {r:.1g}: content loss {lc:8.3f}, style loss {ls:.3g}")
assert sweep.style_losses[-1] < sweep.style_losses[0] and sweep.content_losses[-1] > sweep.content_losses[0]
fig = show_images([im[0].cpu() for im in sweep.images], (0, 1), titles=[f"b/a = {r:.1g}" for r in sweep.ratios], scale=2.2)

# %%
# NBVAL_IGNORE_OUTPUT
StyleWeightExplorer(sweep)

# %% [markdown]
# The printed losses show the trade-off the slider shows: raising $\beta/\alpha$ lowers the style
# loss and raises the content loss. There is no right ratio; it is an artistic choice.
#
# ## 8. Your own images (full mode)
#
# In full mode you can use any photo and any painting: a path on your disk, or a URL (downloaded
# once, with a timeout; quick mode never touches the network). Set them below and rerun this
# cell; the result is at 512 px with the paper's layers and 1000 L-BFGS evaluations.

# %%
MY_CONTENT = None  # e.g. "my_photo.jpg" or "https://.../photo.jpg"
MY_STYLE = None  # e.g. "https://upload.wikimedia.org/.../The_Starry_Night.jpg"
if not is_quick() and MY_CONTENT and MY_STYLE:
    mine = style_transfer(load_user_image(MY_CONTENT, SIZE)[None].to(device), load_user_image(MY_STYLE, SIZE)[None].to(device),
                          nst_vgg, content_layers, style_layers, style_weight=ratio, evaluations=evals)
    fig = show_images(mine.image[0].cpu(), (0, 1), titles=["your style transfer"], scale=6)
else:
    print("quick mode, or no images set: set MY_CONTENT and MY_STYLE and run with COURSE_MODE=full")

# %% [markdown]
# ## Summary
#
# * Deep CNN features keep an image's layout and forget its exact details: inverting them gives
#   images with the right shapes in the wrong pixels.
# * Gatys et al.'s content loss matches features; the style loss matches Gram matrices, the
#   channel co-occurrences summed over all positions, normalised by $4N^2M^2$ per layer.
# * Style transfer optimises pixels: hundreds of forward and backward passes of VGG per image,
#   with L-BFGS (the paper's choice, fast at first) or Adam.
# * Shallow content layers pin the pixels, deep ones only the layout; $\beta/\alpha$ trades
#   content for style.
#
# **Next:** the lab (`labs/02_cnn_features_style_lab.ipynb`) has you write these losses and the
# loop. Lecture 03 trains networks that do all of this in one forward pass.
