# %% [markdown]
# # 03 · Fast style transfer, conditional instance norm, AdaIN, and super-resolution with perceptual + GAN losses
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/image-to-image-course/image-to-image/blob/v0.1.0/lectures/03_fast_style_adain_sr.ipynb)
#
# Gatys' style transfer (lecture 02) optimises every image from scratch: hundreds of passes through
# VGG. This lecture trains networks that do it in **one forward pass**, and follows the idea to
# its natural next step, super-resolution.
#
# 1. **Perceptual losses** (Johnson et al. 2016): train an image transformation network with
#    Gatys' losses, once, for one style.
# 2. **Conditional instance norm** (Dumoulin et al. 2017): one network, N styles, each a pair
#    of scale and shift vectors, and blends between them.
# 3. **AdaIN** (Huang & Belongie 2017): any style, never seen in training, by transplanting
#    feature statistics; a content-style slider and style interpolation.
# 4. **Super-resolution x4** (Ledig et al. 2017): the same network trained with a pixel loss, a
#    perceptual loss and a perceptual + adversarial loss (SRGAN), measured against bicubic
#    upsampling, and why the best-looking result does not have the best PSNR.
#
# **Time:** about 2 minutes on a laptop CPU in quick mode (small crops, short training; the
# offline random VGG as loss network). Full mode uses the papers' sizes and step counts: days of
# GPU time in one notebook, so for full-size training prefer the command-line trainer (last
# cell), which checkpoints and resumes. The lab (`labs/03_fast_style_adain_sr_lab.ipynb`) has you
# write AdaIN, the CIN layer and the perceptual loss.

# %%
# Set-up: on Colab, install course_lib from the course repository (torch is already there).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/image-to-image-course/image-to-image@v0.1.0"], check=True)

import course_lib

setup = course_lib.setup(seed=0, notebook="03_fast_style_adain_sr")

# %%
import time

import torch

from course_lib import by_mode, metrics, mode, pretrained
from course_lib.data import load_photo
from course_lib.pretrained.style_specs import adain_style_and_layout, adain_test_styles, fast_style_scores
from course_lib.style import VGGFeatures
from course_lib.style.adain import AdaINNet, AdaINTask, ContentStylePairs, Decoder, adain_layers, stylise_mix
from course_lib.style.cin import add_styles
from course_lib.style.fast import FastStyleTask, StyledContent
from course_lib.style.gatys import style_transfer
from course_lib.style.images import style_image
from course_lib.style.superres import (
    SRCrops,
    SRDiscriminator,
    SRResNet,
    SRTask,
    bicubic,
    evaluate,
    format_scores,
    high_frequency_energy,
    upscale,
)
from course_lib.style.transformer_net import TransformerNet
from course_lib.train import TrainConfig, Trainer
from course_lib.viz import show_images, show_rows
from course_lib.widgets import AdaINExplorer, CINExplorer

device = setup.device
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket")  # chelsea (the cat) is held out for testing
CROP = by_mode(quick=48, gpu=128, full=256)
test_photo = load_photo("chelsea", by_mode(quick=96, gpu=256, full=512))[None].to(device)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# %% [markdown]
# ## 1. Perceptual losses: train once, stylise in one pass
#
# Johnson, Alahi & Fei-Fei (2016) train an **image transformation network** $f_W$ on many photos
# $y_c$ to minimise Gatys-style losses measured by a fixed VGG $\phi$, the *loss network*:
#
# * feature reconstruction $\ell_{feat} = \frac{1}{C_jH_jW_j}\lVert\phi_j(f_W(y_c)) - \phi_j(y_c)\rVert^2$
#   (one layer; relu2_2 of VGG-16 in the paper);
# * style reconstruction $\ell_{style} = \sum_j \lVert G_j(f_W(y_c)) - G_j(y_s)\rVert^2$ with Gram
#   matrices **divided by** $C_jH_jW_j$ (`course_lib.losses.gram_style_loss`).
#
# Lecture 02 explained the two normalisations: here the Gram target is computed once from the
# style image and compared with every training output, so it must be an *average* over positions
# to be independent of image size. (We use the mean over the $C \times C$ entries, as the
# reference PyTorch implementation does; Johnson wrote the sum, which is the same times $C^2$.)
#
# The network (their supplementary Table 1): a 9x9 conv, two stride-2 convs, five residual blocks,
# two upsampling convs, a 9x9 conv; instance normalisation (Ulyanov et al. 2016) after every conv.
# With the paper's widths it has 1.68 M parameters; quick mode uses half the width and three
# residual blocks.

# %%
print(f"paper-size TransformerNet: {n_params(TransformerNet()):,} parameters")
style_names = ["swirls", "mosaic", "strokes"]
styles = torch.stack([style_image(n, 128) for n in style_names]).to(device)  # the loss targets
styles_view = torch.stack([style_image(n, test_photo.shape[-1]) for n in style_names])  # for the figures
loss_layers = dict(content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1", "relu3_1"))
# beta / alpha: 1e5 is pytorch/examples' ratio for ImageNet VGG-16; the random VGG of quick mode
# keeps more of the photo with a smaller one
STYLE_WEIGHT = by_mode(quick=3e4, full=1e5)
loss_net = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1")).to(device)
width, blocks = by_mode(quick=(16, 3), gpu=(32, 5), full=(32, 5))
torch.manual_seed(0)
johnson = TransformerNet(channels=width, n_residual=blocks, n_styles=1)  # CIN with 1 style = affine instance norm
print(f"this lecture's network: {n_params(johnson):,} parameters")

task = FastStyleTask(styles[:1], johnson, loss_net, **loss_layers, style_weight=STYLE_WEIGHT, lr=by_mode(quick=3e-3, gpu=1e-3, full=1e-3))
crops = StyledContent(size=CROP, length=100_000, photos=TRAIN_PHOTOS)
steps = by_mode(quick=100, gpu=2_000, full=40_000)
history = Trainer(task, crops, TrainConfig(steps=steps, batch_size=4, log_every=20)).fit()
print(f"trained {steps} steps in {history.seconds:.0f} s; loss {history.values['G/loss'][0]:.3g} -> {history.last('G/loss'):.3g}")

# %% [markdown]
# Does it stylise a photo it has never seen? Compare the style loss of the held-out cat photo
# itself (the trivial "do nothing" network) with that of the network's output, and time one
# forward pass against Gatys' optimisation at the same size.

# %%
def style_and_content(task: FastStyleTask, photo: torch.Tensor, image: torch.Tensor, style: int = 0) -> tuple[float, float]:
    """The task's (unweighted) style and content losses of ``image`` as a stylisation of ``photo``."""
    with torch.no_grad():
        terms = task.losses(photo, image, torch.tensor([style], device=photo.device))
    return float(terms["style"]), float(terms["content"])


with torch.no_grad():
    johnson.eval()
    t0 = time.perf_counter()
    fast_out = johnson(test_photo, 0)
    fast_seconds = time.perf_counter() - t0
base_style, _ = style_and_content(task, test_photo, test_photo)
out_style, out_content = style_and_content(task, test_photo, fast_out)
print(f"style loss: photo itself {base_style:.3g}, network output {out_style:.3g} ({base_style / out_style:.0f}x lower)")
print(f"content loss of the output: {out_content:.3g}")
gatys = style_transfer(test_photo, styles[:1], loss_net, ("relu2_1",), ("relu1_1", "relu2_1", "relu3_1"),
                       style_weight=1e6, evaluations=10, init="content")
print(f"one forward pass: {1000 * fast_seconds:.0f} ms; Gatys: {gatys.seconds / 10 * 1000:.0f} ms per evaluation, "
      f"x200 evaluations (lecture 02) = {gatys.seconds * 20:.0f} s")
assert out_style < 0.5 * base_style, "the network should have learnt the style"
fig = show_images([test_photo[0].cpu(), styles_view[0], fast_out[0].cpu()], (0, 1),
                  titles=["held-out photo", "style", "one forward pass"], scale=2.6)

# %% [markdown]
# A hundred steps teach the mechanics, not the result. The course ships the same network trained
# far longer (`course_lib.pretrained`: same width, loss network, layers and style weight; crops of
# the same three training photos; the cat is still held out). Two numbers judge a stylisation:
# the **style loss** (lower = closer to the painting's Gram statistics) and how much of the
# photo's **layout** survives, measured as the correlation between the edge maps of the output and
# of the photo (1 = the same edges in the same places, about 0 = an unrelated image such as the
# painting itself).

# %%
shipped_fast = pretrained.load("fast_style", device=device)
fast_info = pretrained.info("fast_style")
print(f"shipped checkpoint: {fast_info['steps']} steps of batch {fast_info['batch_size']} at {fast_info['resolution']} px "
      f"(this notebook: {steps} steps)")
quick_scores, shipped_scores = fast_style_scores(johnson, test_photo), fast_style_scores(shipped_fast, test_photo)
with torch.no_grad():
    shipped_out = shipped_fast(test_photo, 0)
s = shipped_scores  # short name for the titles below
print(f"style loss: photo {s['style_loss_photo']:.3g}, quick run {quick_scores['style_loss']:.3g}, "
      f"shipped {s['style_loss']:.3g} ({s['style_loss_photo'] / s['style_loss']:.1f}x below the photo), "
      f"the painting itself {s['style_loss_style_image']:.3g}")
print(f"layout (edge correlation with the photo): quick run {quick_scores['layout_corr']:.2f}, "
      f"shipped {s['layout_corr']:.2f}, the painting {s['layout_corr_style_image']:.2f}")
assert s["style_loss"] < 0.5 * s["style_loss_photo"] and s["layout_corr"] > 0.4, "the checkpoint should stylise and keep the layout"
fig = show_images(
    [test_photo[0].cpu(), fast_out[0].cpu(), shipped_out[0].cpu(), styles_view[0]], (0, 1),
    titles=[f"photo: style {s['style_loss_photo']:.2g}\nlayout 1.00",
            f"quick run ({steps} steps)\nstyle {quick_scores['style_loss']:.2g}, layout {quick_scores['layout_corr']:.2f}",
            f"shipped ({fast_info['steps']} steps)\nstyle {s['style_loss']:.2g}, layout {s['layout_corr']:.2f}",
            f"style image: style {s['style_loss_style_image']:.2g}\nlayout {s['layout_corr_style_image']:.2f}"],
    scale=2.6)

# %% [markdown]
# After its hundred steps the quick run has found the cheap way to lower the style loss: paint
# the painting's blues over everything. Its style loss is even lower than the shipped network's,
# but the photo is gone (layout about 0.2: a few dark blobs where the eyes were). Longer training
# finds the balance the loss asks for: the shipped network keeps the cat's eyes, nose and fur
# (layout about 0.8) while its style loss is about three times below the photo's and no higher
# than the painting's own at this size. What the loss rewards is set by the loss network: the
# random VGG of quick mode measures mostly colours and fine stripes, so that is the style it
# learns; ImageNet features (full mode) also describe larger brush strokes.

# %% [markdown]
# ## 2. Conditional instance normalisation: N styles in one network
#
# Dumoulin, Shlens & Kudlur (2017) noticed that networks trained for different styles differ
# mostly in the scale and shift after each normalisation. So they share every convolution and keep
# one $(\gamma_s, \beta_s)$ per style $s$:
#
# $$ \mathrm{CIN}(x, s) = \gamma_s \frac{x - \mu(x)}{\sigma(x)} + \beta_s . $$
#
# A style costs 2 x 1,600 = 3,200 numbers in the paper-size network (0.2% of it). We give our
# one-style network two more styles (copies of the first style's $\gamma, \beta$ to start) and
# fine-tune it on all three; each training photo gets a random style.

# %%
add_styles(johnson, 2, init_from=0)
cin = johnson  # the same network, now with 3 (gamma, beta) pairs per normalisation layer
print(f"{cin.n_styles} styles: {n_params(cin):,} parameters ({n_params(TransformerNet(n_styles=3)) - n_params(TransformerNet(n_styles=1)):,} "
      "more than one style at paper size)")
cin_task = FastStyleTask(styles, cin, loss_net, **loss_layers, style_weight=STYLE_WEIGHT, lr=by_mode(quick=3e-3, gpu=1e-3, full=1e-3))
cin_crops = StyledContent(size=CROP, length=100_000, n_styles=3, photos=TRAIN_PHOTOS, seed=1)
cin_history = Trainer(cin_task, cin_crops, TrainConfig(steps=by_mode(quick=80, gpu=2_000, full=40_000), batch_size=by_mode(quick=4, gpu=8, full=16),
                                                       log_every=20)).fit()
cin.eval()
with torch.no_grad():
    cin_out = [cin(test_photo, s) for s in range(3)]
for s in range(3):
    base, _ = style_and_content(cin_task, test_photo, test_photo, s)
    out, _ = style_and_content(cin_task, test_photo, cin_out[s], s)
    print(f"style {s} ({style_names[s]}): style loss of the photo {base:.3g}, of the output {out:.3g}")
    assert out < base, "each style should be learnt"
fig = show_rows({"style": styles_view, "CIN output": torch.cat(cin_out).cpu()}, (0, 1), col_titles=style_names, scale=2.2)

# %% [markdown]
# **Blending styles.** Because a style is just $(\gamma, \beta)$, a convex combination
# $\gamma = \sum_s w_s\gamma_s$, $\beta = \sum_s w_s\beta_s$ is a new style in between (their
# Fig. 7). The network was never trained on mixtures.

# %%
with torch.no_grad():
    blends = [cin(test_photo, torch.tensor([1 - t, t, 0.0])) for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
fig = show_images(torch.cat(blends).cpu(), (0, 1), titles=[f"{1 - t:.2f} {style_names[0]} + {t:.2f} {style_names[1]}"
                  for t in (0.0, 0.25, 0.5, 0.75, 1.0)], scale=2.2)

# %% [markdown]
# Eighty steps give each new style a little of its colour; the shipped `cin_style` is the same
# network trained the same way for much longer (it starts from the shipped `fast_style` and
# copies its swirls style into the two new ones, exactly as above). For each style: the style loss
# of the output against that painting's statistics beside the photo's own (the "do nothing"
# baseline), and the layout kept (edge correlation with the photo). Then the blend from swirls to
# mosaic, scored by its style loss to mosaic: it should fall step by step as the weight moves.

# %%
from course_lib.pretrained.style_specs import cin_style_scores

shipped_cin = pretrained.load("cin_style", device=device)
cin_info = pretrained.info("cin_style")
print(f"shipped cin_style: {cin_info['steps']} steps of batch {cin_info['batch_size']} at {cin_info['resolution']} px "
      f"after fast_style's {fast_info['steps']}")
c = cin_style_scores(shipped_cin, test_photo)
for k, name in enumerate(style_names):
    print(f"{name:<8} style loss: photo {c[f'style_loss_photo_{k}']:.3g}, shipped output {c[f'style_loss_{k}']:.3g} "
          f"({c[f'style_loss_photo_{k}'] / c[f'style_loss_{k}']:.1f}x lower); layout {c[f'layout_corr_{k}']:.2f}")
    assert c[f"style_loss_{k}"] < c[f"style_loss_photo_{k}"], f"the shipped network should have learnt {name}"
blend_t = (0.0, 0.25, 0.5, 0.75, 1.0)
with torch.no_grad():
    shipped_pure = torch.cat([shipped_cin(test_photo, k).clamp(0, 1) for k in range(3)])
    shipped_blends = [shipped_cin(test_photo, torch.tensor([1 - t, t, 0.0])).clamp(0, 1) for t in blend_t]
blend_loss = [style_and_content(cin_task, test_photo, b, 1)[0] for b in shipped_blends]
print("style loss to mosaic along the blend swirls -> mosaic: " + ", ".join(f"{t:.2f}: {v:.3g}" for t, v in zip(blend_t, blend_loss)))
assert blend_loss[-1] < blend_loss[0], "the blend should move towards mosaic"
fig = show_rows({"style": styles_view, "shipped CIN": shipped_pure.cpu()}, (0, 1), scale=2.2,
                col_titles=[f"{name}\nstyle loss {c[f'style_loss_{k}']:.2g} (photo {c[f'style_loss_photo_{k}']:.2g})"
                            for k, name in enumerate(style_names)])
fig = show_images(torch.cat(shipped_blends).cpu(), (0, 1), scale=2.2,
                  titles=[f"{1 - t:.2f} swirls + {t:.2f} mosaic\nloss to mosaic {v:.2g}" for t, v in zip(blend_t, blend_loss)])

# %% [markdown]
# One network now holds three styles: each output's style loss is roughly a third of the photo's
# for its own painting, and the cat keeps its eyes, nose and fur (layout about 0.85). What the
# styles change is mostly **colour and fine texture**, since that is what the random VGG of quick
# mode measures: swirls paints the eyes and background blue, strokes turns the fur red, mosaic
# bleaches. Along the blend, the style loss to mosaic falls at every step (printed above), and the
# picture moves with it: the blue of the eyes and the background fades gradually, never jumping.
# The slider below lets you move between any two styles of the shipped network.

# %%
# NBVAL_IGNORE_OUTPUT
CINExplorer(shipped_cin, test_photo, style_a=0, style_b=1, mix=0.5)

# %% [markdown]
# ## 3. AdaIN: arbitrary styles in real time
#
# CIN still learns one $(\gamma_s, \beta_s)$ per style. Huang & Belongie (2017) take them from the
# style image itself: the per-channel mean and standard deviation of its VGG features,
#
# $$ \mathrm{AdaIN}(x, y) = \sigma(y)\frac{x - \mu(x)}{\sigma(x)} + \mu(y). $$
#
# Encoder: VGG-19 up to relu4_1, fixed. Decoder: its mirror image (nearest upsampling instead of
# pooling, 3.5 M parameters), the only part trained. Loss: content $\lVert f(g(t)) - t\rVert^2$
# against the AdaIN output $t$ itself, plus $\lambda = 10$ times a style loss on the means and
# standard deviations of relu1_1 ... relu4_1.
#
# **Quick mode moves the bottleneck to relu2_1.** A decoder that inverts relu4_1 needs tens of
# thousands of steps (the reference trains 160,000); in a minute on a CPU it learns only a blurry
# average image. Inverting relu2_1 is much easier (its decoder is the last two blocks of the same
# mirror, 0.26 M parameters), so AdaIN there transfers colours and fine texture statistics rather
# than large brush strokes, but everything else (the layer, the losses, $\alpha$, interpolation)
# is the paper's. Full mode uses relu4_1. We train on photo crops with procedural paintings (32
# of them) and test on a held-out photo and **styles never seen in training**.

# %%
torch.manual_seed(0)
bottleneck = by_mode(quick="relu2_1", gpu="relu4_1", full="relu4_1")
adain_net = AdaINNet(VGGFeatures(layers=adain_layers(bottleneck)), bottleneck=bottleneck).to(device)
print(f"AdaIN at {bottleneck}; decoder: {n_params(adain_net.decoder):,} parameters "
      f"(the paper's relu4_1 decoder: {n_params(Decoder('relu4_1')):,})")
pairs = ContentStylePairs(size=CROP, length=100_000, n_styles=by_mode(quick=32, gpu=2000, full=2000), photos=TRAIN_PHOTOS)
adain_task = AdaINTask(adain_net, style_weight=10.0, lr=by_mode(quick=1e-3, gpu=5e-4, full=1e-4))
adain_steps = by_mode(quick=120, gpu=4_000, full=160_000)
adain_history = Trainer(adain_task, pairs, TrainConfig(steps=adain_steps,
                                                        batch_size=by_mode(quick=4, gpu=8, full=8), log_every=20)).fit()
print(f"content loss {adain_history.values['G/content'][0]:.3g} -> {adain_history.last('G/content'):.3g}, "
      f"style loss {adain_history.values['G/style'][0]:.3g} -> {adain_history.last('G/style'):.3g}")

# %%
# Unseen styles: two paintings never drawn in training (a candy mosaic, ocean swirls; the training
# bank is another seed) and a real texture the decoder has never seen anything like (stained tissue).
size = test_photo.shape[-1]
new_styles = torch.cat([adain_test_styles(size), style_image("ihc", size)[None]]).to(device)
style_labels = ["A (mosaic)", "B (swirls)", "C (tissue)"]
shipped_adain = pretrained.load("adain", device=device)
adain_info = pretrained.info("adain")
print(f"shipped decoder: {adain_info['steps']} steps of batch {adain_info['batch_size']} at {adain_info['resolution']} px "
      f"with {adain_info['n_styles']} training paintings (this notebook: {adain_steps} steps, {len(pairs.styles)} paintings)")
adain_images = {"photo itself": [test_photo] * 3}
with torch.no_grad():
    for label, net in [("quick run", adain_net), ("shipped", shipped_adain)]:
        adain_images[label] = [net.eval()(test_photo, s[None]).clamp(0, 1) for s in new_styles]
# every image is measured with the same (shipped) encoder: style loss to its style, edge correlation with the photo
adain_terms = {label: [adain_style_and_layout(shipped_adain, test_photo, s[None], img) for s, img in zip(new_styles, imgs)]
               for label, imgs in adain_images.items()}
for label, terms in adain_terms.items():
    print(f"{label:<13}" + "   ".join(f"{name}: style {st:.3g}, layout {lay:.2f}" for name, (st, lay) in zip(style_labels, terms)))
ab_diff = {label: float((imgs[0] - imgs[1]).abs().mean()) for label, imgs in adain_images.items() if label != "photo itself"}
print("mean |output A - output B| (pixels in [0, 1]): " + ", ".join(f"{k} {v:.3f}" for k, v in ab_diff.items()))
for i in range(2):  # the two unseen paintings
    (base, _), (got, layout) = adain_terms["photo itself"][i], adain_terms["shipped"][i]
    assert got < 0.25 * base and layout > 0.4, f"the shipped decoder should take style {style_labels[i]} and keep the layout"
assert ab_diff["shipped"] > 0.1, "two different styles should give visibly different pictures"
fig = show_images(
    torch.cat([new_styles.cpu()] + [torch.cat(imgs).cpu() for imgs in adain_images.values()]), (0, 1), ncols=3, scale=2.4,
    titles=[f"unseen style {name}" for name in style_labels]
    + [f"{label}\nstyle {st:.2g}, layout {lay:.2f}" for label, terms in adain_terms.items() for st, lay in terms])

# %% [markdown]
# After its 120 steps the quick run already takes each style's colours (teal for the swirls, brown
# for the tissue; its A and B outputs differ even more than the shipped decoder's, printed above),
# but it has not learnt to invert the features: its pictures are a blur that keeps little of the
# cat (layout about 0.3). The shipped decoder has the same bottleneck, losses and $\lambda$, but ran
# 2,500 steps at twice the learning rate with **256** training paintings instead of 32: a decoder
# that must handle any style has to see many different statistics. On the held-out cat and the
# three unseen styles its style loss is far below the photo's own (about 6x for the mosaic, tens
# of times for the other two) and lower than the quick run's, while about half of the photo's edge
# layout survives (layout about 0.5: eyes, nose and fur stay where they were), and the three
# styles give visibly different pictures: teal and blue for the swirls, yellow and brown for the
# tissue, the mosaic's yellows, blues and pinks. What it does not transfer is the paintings'
# *shapes*: no tiles, no swirls. At relu2_1 of a random VGG the statistics AdaIN matches are those
# of colours and textures a few pixels wide, and the decoder reproduces them as a fine grid of
# stripes over the whole picture. ImageNet features at relu4_1 (full mode) describe larger
# structures.

# %% [markdown]
# **Content-style trade-off.** At test time, decode $(1 - \alpha) f(c) + \alpha\,t$: $\alpha = 0$
# reconstructs the photo (as well as the decoder can), $\alpha = 1$ is full stylisation.
# **Style interpolation**: $t = \sum_k w_k \mathrm{AdaIN}(f(c), f(s_k))$ mixes styles; below,
# with the shipped decoder, from unseen style A to unseen style B. Each title gives the style
# loss of the picture to A and to B.

# %%
alphas = (0.0, 0.25, 0.5, 0.75, 1.0)
style_a, style_b = new_styles[:1], new_styles[1:2]
with torch.no_grad():
    by_alpha = [stylise_mix(shipped_adain, test_photo, style_a, style_b, alpha=a, mix=0.0) for a in alphas]
    by_mix = [stylise_mix(shipped_adain, test_photo, style_a, style_b, alpha=1.0, mix=m) for m in alphas]
to_a = [[adain_style_and_layout(shipped_adain, test_photo, style_a, img)[0] for img in row] for row in (by_alpha, by_mix)]
to_b = [[adain_style_and_layout(shipped_adain, test_photo, style_b, img)[0] for img in row] for row in (by_alpha, by_mix)]
print("alpha " + "  ".join(f"{a:.2f}: to A {la:.3g}" for a, la in zip(alphas, to_a[0])))
print("mix   " + "  ".join(f"{m:.2f}: to A {la:.3g}, to B {lb:.3g}" for m, la, lb in zip(alphas, to_a[1], to_b[1])))
assert all(x > y for x, y in zip(to_a[0], to_a[0][1:])), "more alpha should mean closer to style A"
assert to_a[1][0] < to_a[1][-1] and to_b[1][0] > to_b[1][-1], "the mix should move from A to B"
fig = show_images(torch.cat(by_alpha + by_mix).cpu(), (0, 1), ncols=5, scale=2.2,
                  titles=[f"alpha {a:.2f} (A)\nto A {la:.2g}" for a, la in zip(alphas, to_a[0])]
                  + [f"{1 - m:.2f} A + {m:.2f} B\nto A {la:.2g}, to B {lb:.2g}" for m, la, lb in zip(alphas, to_a[1], to_b[1])])

# %% [markdown]
# Both sliders act gradually. Raising $\alpha$ moves the picture from the decoder's
# reconstruction of the photo (top left: the cat's colours, with the same fine grid) to style A,
# and the style loss to A falls at every step (printed above). Along the mix the loss to A rises
# while the loss to B falls, and the colours turn from A's yellows and pinks to B's teal: the
# network was never trained on a mixture, yet the blend of statistics decodes to a picture in
# between.

# %%
# NBVAL_IGNORE_OUTPUT
AdaINExplorer(shipped_adain, test_photo, style_a, style_b, alpha=0.75, mix=0.5)

# %% [markdown]
# Three methods, three trade-offs: Gatys' optimisation handles any style but takes seconds to
# minutes per image; a Johnson network is instant but knows one style; CIN knows N styles for a
# few thousand numbers each; AdaIN knows every style at the price of a weaker match (first and
# second moments only) and a decoder that must learn to invert VGG.
#
# ## 4. Super-resolution x4: pixel, perceptual and adversarial losses
#
# Super-resolution is image-to-image translation with a perfectly known pairing: shrink a photo
# by 4 (bicubic, with antialiasing) and train a network to undo it. Johnson et al. already used
# the perceptual loss for it; SRGAN (Ledig et al. 2017) added a discriminator. Their generator,
# SRResNet, works at the low resolution (16 residual blocks) and upsamples at the end with two
# **sub-pixel convolutions**: a conv computes $4c$ channels, `PixelShuffle(2)` rearranges each
# group of 4 into a 2x2 block of pixels.
#
# Quick mode uses a narrower, shallower SRResNet and adds the bicubic image to its output (global
# residual learning, as VDSR does), so the network starts *at* the bicubic baseline and only
# learns the missing detail; full mode is the paper's network. The three variants:
#
# * **pixel**: MSE to the true high-resolution crop (the paper's SRResNet);
# * **perceptual**: MSE between VGG features (the paper's VGG loss), fine-tuned from the pixel model;
# * **SRGAN**: perceptual + $10^{-3}$ x adversarial loss against a discriminator, also from the pixel model.
#
# Test crops come from the cat photo, which no model has seen.

# %%
print(f"paper-size SRResNet: {n_params(SRResNet()):,} parameters; discriminator at 96 px: {n_params(SRDiscriminator(96)):,}")
HR = by_mode(quick=48, gpu=96, full=96)
sr_train = SRCrops(size=HR, length=100_000, seed=0, photos=TRAIN_PHOTOS)
sr_test = SRCrops(size=HR, length=by_mode(quick=24, gpu=100, full=200), seed=1, photos=("chelsea",))
test_batch = {k: v.to(device) for k, v in torch.utils.data.default_collate([sr_test[i] for i in range(len(sr_test))]).items()}



def make_generator() -> SRResNet:
    """Quick: 16 channels, 3 blocks, plus the bicubic image; full: the paper's SRResNet."""
    # GPU mode: the paper's width with half its 16 residual blocks
    return SRResNet(channels=16, n_blocks=3, bicubic_skip=True) if mode() == "quick" else SRResNet(n_blocks=by_mode(quick=16, gpu=8, full=16))


torch.manual_seed(0)
generators = {"pixel": make_generator().to(device)}
sr_steps = by_mode(quick=120, gpu=5_000, full=1_000_000)
h = Trainer(SRTask(generators["pixel"], "pixel", lr=by_mode(quick=2e-3, gpu=2e-4, full=1e-4)), sr_train,
            TrainConfig(steps=sr_steps, batch_size=by_mode(quick=8, gpu=16, full=16), log_every=25)).fit()
print(f"pixel: {sr_steps} steps in {h.seconds:.0f} s, MSE {h.values['G/pixel'][0]:.4f} -> {h.last('G/pixel'):.4f}")

vgg_layer = by_mode(quick="relu2_2", gpu="relu5_4", full="relu5_4")  # the paper's best: VGG54
sr_vgg = VGGFeatures(layers=(vgg_layer,), input_range=(-1, 1)).to(device)
# The paper divides VGG54 features by 12.75 to bring the VGG loss to the scale of the pixel loss;
# the random relu2_2 features of quick mode are already at that scale.
vgg_rescale = by_mode(quick=1.0, gpu=12.75, full=12.75)
fine_steps = by_mode(quick=50, gpu=2_000, full=100_000)
for name, loss in [("perceptual", "perceptual"), ("SRGAN", "srgan")]:
    g = make_generator().to(device)
    g.load_state_dict(generators["pixel"].state_dict())  # SRGAN starts from the trained SRResNet
    disc = SRDiscriminator(HR, channels=by_mode(quick=16, gpu=64, full=64)) if loss == "srgan" else None
    h = Trainer(SRTask(g, loss, sr_vgg, vgg_layer, disc, size=HR, vgg_rescale=vgg_rescale, lr=by_mode(quick=1e-3, gpu=1e-4, full=1e-4)),
                sr_train, TrainConfig(steps=fine_steps, batch_size=by_mode(quick=4, gpu=16, full=16), log_every=20, seed=1)).fit()
    generators[name] = g
    print(f"{name}: {fine_steps} steps in {h.seconds:.0f} s, VGG loss {h.values['G/vgg'][0]:.3g} -> {h.last('G/vgg'):.3g}"
          + (f", adversarial loss {h.values['G/adv'][0]:.3g} -> {h.last('G/adv'):.3g}" if loss == "srgan" else ""))

# %%
outputs = {"bicubic": bicubic(test_batch["lr"])}
outputs.update({name: upscale(g, test_batch["lr"]) for name, g in generators.items()})
scores = evaluate(outputs, test_batch["hr"])
print(format_scores(scores))
print("detail: high-frequency energy relative to the truth (1 = as sharp); patch SWD: distance between the "
      "distributions of 7x7 patches of the output and of the truth (lower = more realistic texture)")
assert scores["pixel"].psnr > scores["bicubic"].psnr, "the pixel-loss model must beat bicubic upsampling in PSNR"

# %% [markdown]
# These runs last seconds. The course ships the pixel-loss SRResNet trained far longer
# (`srresnet_mse`: twice the quick width, four residual blocks, the same bicubic skip, crops of the
# same three training photos; the cat is still held out) and an SRGAN fine-tuned from it (`srgan`,
# the same losses as the quick SRGAN). Below, every method on the same test
# crops; each row's label gives its mean PSNR and detail over all of them.

# %%
shipped_sr = pretrained.load("srresnet_mse", device=device)
sr_info = pretrained.info("srresnet_mse")
print(f"shipped SRResNet: {sr_info['steps']} steps of batch {sr_info['batch_size']} at {sr_info['resolution']} px, "
      f"pixel MSE (this notebook: {sr_steps} steps)")
outputs["shipped pixel"] = upscale(shipped_sr, test_batch["lr"])
srgan_info = pretrained.info("srgan")
print(f"shipped SRGAN: the shipped SRResNet fine-tuned {srgan_info['steps']} steps with the VGG {vgg_layer} loss "
      f"+ 1e-3 x adversarial loss (this notebook: {fine_steps} steps)")
outputs["shipped SRGAN"] = upscale(pretrained.load("srgan", device=device), test_batch["lr"])
scores = evaluate(outputs, test_batch["hr"])
print(format_scores(scores))
gains = {k: scores[k].psnr - scores["bicubic"].psnr for k in ("pixel", "shipped pixel")}
print(f"PSNR over bicubic: quick pixel run {gains['pixel']:+.2f} dB, shipped {gains['shipped pixel']:+.2f} dB")
assert gains["shipped pixel"] > 0.5, "the shipped pixel-loss model should beat bicubic by more than 0.5 dB"
assert scores["shipped SRGAN"].detail > 2 * scores["shipped pixel"].detail, "SRGAN should restore more high-frequency energy"

# %%
show = high_frequency_energy(test_batch["hr"]).argsort(descending=True)[:3]  # the three most detailed crops
fig = show_rows({"low-res input": torch.nn.functional.interpolate(test_batch["lr"][show], scale_factor=4, mode="nearest").cpu(),
                 **{f"{k}\n{scores[k].psnr:.2f} dB\ndetail {scores[k].detail:.2f}": v[show].cpu() for k, v in outputs.items()},
                 "truth\ndetail 1.00": test_batch["hr"][show].cpu()},
                (0, 1), scale=1.7)

# %% [markdown]
# The pixel-loss model beats bicubic upsampling on PSNR and SSIM, the measures it optimises: by
# about 0.2 dB after the quick run's 120 steps, by about 0.6 dB for the shipped network. Both stay
# far smoother than the truth (detail about 0.1 for the shipped network, 1 for the truth). The VGG
# and GAN losses give up some PSNR for several times more high-frequency energy ("detail") than
# even the shipped pixel model, but in quick mode part of that energy is a faint grid, an artefact
# of sub-pixel convolution with a random VGG as judge and 50 fine-tuning steps, so their 7x7
# patches are not yet closer to real ones than the pixel models' (patch SWD). The shipped SRGAN,
# fine-tuned ten times longer, has about 0.7 of the truth's detail (several times the shipped pixel
# model's) and the lowest patch SWD in the table, while its PSNR falls about 1.3 dB below the
# shipped pixel model's, below bicubic's. With the paper's 10^5 steps and ImageNet features (full
# mode) the same losses produce fur and whiskers.
#
# **Why the sharpest image is not the one with the best PSNR.** A low-resolution patch is
# consistent with many sharp high-resolution patches (the exact position of each hair, each
# edge). Under the mean squared error, the best single guess is their *average*, and an average of
# sharp, slightly different images is blurry. A sharp guess that puts an edge one pixel off pays
# for it twice. Two lines make the point with the true images themselves:

# %%
truth = test_batch["hr"]
shifted = torch.roll(truth, shifts=1, dims=-1)  # the same sharp image, one pixel to the right
average = (torch.roll(truth, 1, -1) + torch.roll(truth, -1, -1) + torch.roll(truth, 1, -2) + torch.roll(truth, -1, -2)) / 4
crop = (..., slice(2, -2), slice(2, -2))  # ignore the wrapped-around border
for name, img in [("the truth shifted by one pixel (sharp)", shifted), ("the average of four shifts (blurry)", average)]:
    print(f"{name:<42} PSNR {float(metrics.psnr(img[crop], truth[crop], (0, 1)).mean()):5.2f} dB")
assert metrics.psnr(average[crop], truth[crop], (0, 1)).mean() > metrics.psnr(shifted[crop], truth[crop], (0, 1)).mean()

# %% [markdown]
# The blurry average scores higher than a perfectly sharp image that is off by a single pixel.
# This is the perception-distortion trade-off (Blau & Michaeli 2018): PSNR and SSIM measure
# distortion, and the GAN optimises for looking like a real image instead. Ledig et al. therefore
# judged SRGAN by a mean opinion score of human raters, where it beat every PSNR-optimised method
# even though its PSNR was lower.
#
# ## Summary
#
# * A network trained with perceptual losses (Johnson et al.) stylises in one pass; the Gram
#   matrices are normalised by $CHW$ so that one style target fits every training image.
# * Conditional instance norm shares all convolutions between styles; a style is a
#   $(\gamma, \beta)$ per layer, and mixing them blends styles.
# * AdaIN takes $(\gamma, \beta)$ from the style image's feature statistics, so one decoder serves
#   every style; $\alpha$ trades content for style at test time.
# * For super-resolution the pixel loss wins PSNR and looks blurry; perceptual and adversarial
#   losses restore texture at a cost in PSNR, because MSE rewards the average of all plausible
#   answers.
#
# **Next:** the lab (`labs/03_fast_style_adain_sr_lab.ipynb`): write AdaIN, a CIN layer and the
# perceptual loss, and train a two-style network with them. Lecture 04 turns to paired translation
# with a conditional GAN (pix2pix).
#
# **Train at full size** with the command-line trainer (a GPU and the pretrained VGG recommended):
# `python -m course_lib.train fast_style --preset paper --data /path/to/coco/train2014`
# (likewise `cin_style`, `adain`, `srresnet`, `srgan`; `--preset quick` runs anywhere in minutes).
