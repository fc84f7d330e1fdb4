"""Shipped checkpoints of lecture 03: see :mod:`course_lib.pretrained.specs` for what a spec holds.

* ``fast_style``: Johnson et al. (2016)'s transformer network for the procedural ``swirls``
  painting, at the lecture's quick width, trained far past the notebook's 100 steps.
* ``cin_style``: Dumoulin et al. (2017)'s conditional instance norm: ``fast_style`` given two more
  styles (``mosaic``, ``strokes``) and trained on all three, as the lecture does, for longer.
* ``adain``: Huang & Belongie (2017)'s decoder at the lecture's quick bottleneck (relu2_1),
  trained on photo crops with a bank of 256 procedural paintings, far past the notebook's run.
* ``srresnet_mse``: Ledig et al. (2017)'s SRResNet x4 (small, with a bicubic skip) trained with
  the pixel MSE; scored on 48 px crops of the cat photo against bicubic upsampling.

All are scored on the held-out cat photo (``chelsea``, never a training photo) with the seeded
random VGG that the lecture uses offline, so the lecture, the tests and the manifest measure the
same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch

from course_lib.pretrained.specs import Spec

if TYPE_CHECKING:
    from course_lib.style.adain import AdaINNet
    from course_lib.style.fast import FastStyleTask
    from course_lib.style.superres import SRResNet
    from course_lib.style.transformer_net import TransformerNet

#: the lecture's training photos; chelsea (the cat) is held out for scoring
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket")
HELD_OUT_PHOTO, HELD_OUT_SIZE = "chelsea", 96


def held_out_photo() -> torch.Tensor:
    """(1, 3, 96, 96) in [0, 1]: the lecture's held-out test photo."""
    from course_lib.data import load_photo

    return load_photo(HELD_OUT_PHOTO, HELD_OUT_SIZE)[None]


def layout_correlation(image: torch.Tensor, photo: torch.Tensor) -> float:
    """How much of ``photo``'s layout ``image`` keeps: the correlation of their edge maps, in [-1, 1].

    Both (1, 3, H, W) in [0, 1]. Each is turned into luminance, smoothed by a 3x3 box (so that a
    style's fine texture is not counted as an edge), and its Sobel gradient magnitude computed;
    the result is the Pearson correlation of the two magnitude maps. 1: the same edges in the same
    places; about 0: unrelated images (a style painting against the photo).
    """
    import torch.nn.functional as F

    def edges(x: torch.Tensor) -> torch.Tensor:
        lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None].float()
        lum = F.avg_pool2d(F.pad(lum, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
        k = torch.stack([kx, kx.T])[:, None]
        g = F.conv2d(F.pad(lum, (1, 1, 1, 1), mode="replicate"), k)
        return g.pow(2).sum(1).sqrt().flatten()

    if image.shape != photo.shape or image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"layout_correlation expects two (1, 3, H, W) images of the same size, "
                         f"got {tuple(image.shape)} and {tuple(photo.shape)}")
    a, b = edges(image), edges(photo)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm() + 1e-12))


# --------------------------------------------------------------------------- fast style (Johnson et al.)
FAST_STYLE = "swirls"
FAST_WIDTH, FAST_BLOCKS = 16, 3          # the lecture's quick network
FAST_CROP, FAST_BATCH, FAST_SEED = 48, 4, 0
FAST_STEPS = 1500
FAST_LR = 2e-3
#: style weight (content weight 1), the lecture's quick value
FAST_STYLE_WEIGHT = 3e4
FAST_TV_WEIGHT = 0.0
FAST_LAYERS = dict(content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1", "relu3_1"))


def _fast_model() -> TransformerNet:
    from course_lib.style.transformer_net import TransformerNet

    # one style = CIN with one (gamma, beta): the same network the lecture trains and extends
    return TransformerNet(channels=FAST_WIDTH, n_residual=FAST_BLOCKS, n_styles=1)


def fast_style_task(net: TransformerNet | None = None, style_weight: float = FAST_STYLE_WEIGHT,
                    lr: float = FAST_LR) -> FastStyleTask:
    """The lecture's :class:`~course_lib.style.fast.FastStyleTask` for ``swirls`` (also used to score)."""
    from course_lib.style.fast import FastStyleTask
    from course_lib.style.images import style_image
    from course_lib.style.vgg import VGGFeatures

    loss_net = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1"))
    return FastStyleTask(style_image(FAST_STYLE, 128)[None], net if net is not None else _fast_model(), loss_net,
                         content_layers=FAST_LAYERS["content_layers"], style_layers=FAST_LAYERS["style_layers"],
                         style_weight=style_weight, tv_weight=FAST_TV_WEIGHT, lr=lr)


def _fast_train(steps: int | None) -> tuple[TransformerNet, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.style.fast import StyledContent
    from course_lib.train import TrainConfig, Trainer

    steps = steps or FAST_STEPS
    seed_everything(FAST_SEED)
    task = fast_style_task()
    crops = StyledContent(size=FAST_CROP, length=200_000, photos=TRAIN_PHOTOS)
    config = TrainConfig(steps=steps, batch_size=FAST_BATCH, seed=FAST_SEED, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, crops, config).fit()
    settings = {"data": f"crops of the bundled photos {', '.join(TRAIN_PHOTOS)}; style: procedural '{FAST_STYLE}'",
                "resolution": FAST_CROP, "steps": steps, "batch_size": FAST_BATCH, "seed": FAST_SEED, "lr": FAST_LR,
                "style_weight": FAST_STYLE_WEIGHT, "width": FAST_WIDTH, "residual_blocks": FAST_BLOCKS}
    return task.net, settings


@torch.no_grad()
def fast_style_scores(net: TransformerNet, photo: torch.Tensor | None = None) -> dict[str, float]:
    """Style loss, content loss and layout correlation of ``net``'s output on the held-out photo.

    Baselines: the photo itself (the "do nothing" network: layout 1, its own style loss) and the
    style image (style loss near 0, layout about 0).
    """
    from course_lib.style.images import style_image

    photo = held_out_photo() if photo is None else photo
    task = fast_style_task(net).to(photo.device).eval()
    out = net.eval()(photo, 0)
    style_view = style_image(FAST_STYLE, photo.shape[-1])[None].to(photo.device)
    zero = torch.zeros(1, dtype=torch.long, device=photo.device)

    def terms(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return task.losses(photo, x, zero)

    t_out, t_photo, t_style = terms(out), terms(photo), terms(style_view)
    return {
        "style_loss": float(t_out["style"]), "style_loss_photo": float(t_photo["style"]),
        "style_loss_style_image": float(t_style["style"]),
        "content_loss": float(t_out["content"]), "content_loss_style_image": float(t_style["content"]),
        "layout_corr": layout_correlation(out, photo), "layout_corr_style_image": layout_correlation(style_view, photo),
    }


def _fast_score(net: TransformerNet) -> dict[str, float]:
    return {k: float(f"{v:.4g}") for k, v in fast_style_scores(net).items()}


# --------------------------------------------------------------------------- CIN (Dumoulin et al.)
#: the lecture's three styles; style 0 is fast_style's, the other two are new
CIN_STYLES = ("swirls", "mosaic", "strokes")
CIN_STEPS = 1200
CIN_SEED = 1  # the lecture's StyledContent seed for the three-style run


def _cin_model() -> TransformerNet:
    from course_lib.style.transformer_net import TransformerNet

    return TransformerNet(channels=FAST_WIDTH, n_residual=FAST_BLOCKS, n_styles=len(CIN_STYLES))


def cin_style_task(net: TransformerNet | None = None) -> FastStyleTask:
    """The lecture's three-style :class:`~course_lib.style.fast.FastStyleTask` (also used to score)."""
    from course_lib.style.fast import FastStyleTask
    from course_lib.style.images import style_image
    from course_lib.style.vgg import VGGFeatures

    loss_net = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1"))
    styles = torch.stack([style_image(name, 128) for name in CIN_STYLES])
    return FastStyleTask(styles, net if net is not None else _cin_model(), loss_net,
                         content_layers=FAST_LAYERS["content_layers"], style_layers=FAST_LAYERS["style_layers"],
                         style_weight=FAST_STYLE_WEIGHT, tv_weight=FAST_TV_WEIGHT, lr=FAST_LR)


def _cin_train(steps: int | None) -> tuple[TransformerNet, dict[str, Any]]:
    """What the lecture does, trained longer: fast_style's network gets two more styles, then all three train."""
    from course_lib import pretrained
    from course_lib.config import seed_everything
    from course_lib.style.cin import add_styles
    from course_lib.style.fast import StyledContent
    from course_lib.train import TrainConfig, Trainer

    steps = steps or CIN_STEPS
    seed_everything(CIN_SEED)
    fast = cast("TransformerNet", pretrained.load("fast_style"))  # what _fast_model builds
    net = add_styles(fast, len(CIN_STYLES) - 1, init_from=0)
    task = cin_style_task(net)
    crops = StyledContent(size=FAST_CROP, length=200_000, n_styles=len(CIN_STYLES), photos=TRAIN_PHOTOS, seed=CIN_SEED)
    config = TrainConfig(steps=steps, batch_size=FAST_BATCH, seed=CIN_SEED, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, crops, config).fit()
    settings = {"data": f"crops of the bundled photos {', '.join(TRAIN_PHOTOS)}; styles: procedural "
                        f"{', '.join(repr(n) for n in CIN_STYLES)}, one drawn at random per crop",
                "resolution": FAST_CROP, "steps": steps, "batch_size": FAST_BATCH, "seed": CIN_SEED, "lr": FAST_LR,
                "style_weight": FAST_STYLE_WEIGHT, "width": FAST_WIDTH, "residual_blocks": FAST_BLOCKS,
                "init": f"fast_style (sha256 {pretrained.info('fast_style')['sha256'][:12]}) with styles 1, 2 "
                        "copied from style 0"}
    return task.net, settings


@torch.no_grad()
def cin_style_scores(net: TransformerNet, photo: torch.Tensor | None = None) -> dict[str, float]:
    """Each style's loss on the held-out photo, its layout kept, and how a blend sits between two styles.

    * ``style_loss_{s}`` / ``style_loss_photo_{s}``: the output's style loss for style ``s``
      (0 swirls, 1 mosaic, 2 strokes) beside the photo's own (the "do nothing" baseline);
    * ``layout_corr_{s}``: edge correlation of output ``s`` with the photo;
    * ``output_diff_01``: mean absolute difference of the swirls and mosaic outputs (pixels in [0, 1]);
    * ``blend_loss_1_at_{0,05,1}``: style loss to mosaic of the blend ``(1 - t) swirls + t mosaic``
      at t = 0, 0.5, 1: it falls as t grows when the blend really moves between the styles;
    * ``blend_diff_{0,1}``: mean absolute difference of the 50/50 blend from each pure output.
    """
    from course_lib.style.cin import stylise_mix

    photo = held_out_photo() if photo is None else photo
    net = net.eval()
    task = cin_style_task(net).to(photo.device).eval()

    def style_loss(image: torch.Tensor, s: int) -> float:
        return float(task.losses(photo, image, torch.tensor([s], device=photo.device))["style"])

    outs = [net(photo, s).clamp(0, 1) for s in range(len(CIN_STYLES))]
    blends = {t: stylise_mix(net, photo, 0, 1, t) for t in (0.0, 0.5, 1.0)}
    scores: dict[str, float] = {}
    for s, out in enumerate(outs):
        scores[f"style_loss_{s}"] = style_loss(out, s)
        scores[f"style_loss_photo_{s}"] = style_loss(photo, s)
        scores[f"layout_corr_{s}"] = layout_correlation(out, photo)
    scores["output_diff_01"] = float((outs[0] - outs[1]).abs().mean())
    for t, key in ((0.0, "0"), (0.5, "05"), (1.0, "1")):
        scores[f"blend_loss_1_at_{key}"] = style_loss(blends[t], 1)
    scores["blend_diff_0"] = float((blends[0.5] - outs[0]).abs().mean())
    scores["blend_diff_1"] = float((blends[0.5] - outs[1]).abs().mean())
    return scores


def _cin_score(net: TransformerNet) -> dict[str, float]:
    return {k: float(f"{v:.4g}") for k, v in cin_style_scores(net).items()}


# --------------------------------------------------------------------------- AdaIN (Huang & Belongie)
ADAIN_BOTTLENECK = "relu2_1"  # the lecture's quick bottleneck
ADAIN_CROP, ADAIN_BATCH, ADAIN_SEED = 48, 4, 0
ADAIN_STEPS = 2500
#: twice the lecture's rate: with 1e-3 the decoder still returns a blur after 200 steps
ADAIN_LR = 2e-3
#: many diverse paintings (all six kinds, all palettes, random layouts): with the lecture's 32 the
#: decoder sees too few statistics to generalise to paintings it has never seen
ADAIN_N_STYLES = 256
ADAIN_STYLE_WEIGHT = 10.0  # lambda of the paper
#: unseen styles for scoring: two layouts never drawn in training (training draws PainterlyStyles
#: with seed 0), of two different kinds and palettes so that their statistics differ
ADAIN_TEST_STYLES = (("mosaic", "candy"), ("swirls", "ocean"))
ADAIN_TEST_SEED = 99


def _adain_model() -> AdaINNet:
    from course_lib.style.adain import AdaINNet, adain_layers
    from course_lib.style.vgg import VGGFeatures

    # The encoder is the seeded random VGG the decoder was trained against, and its weights are in
    # the checkpoint: never ask for the ImageNet ones (no download, the same network everywhere).
    return AdaINNet(VGGFeatures(layers=adain_layers(ADAIN_BOTTLENECK), weights=None), bottleneck=ADAIN_BOTTLENECK)


def _adain_train(steps: int | None) -> tuple[AdaINNet, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.style.adain import AdaINTask, ContentStylePairs
    from course_lib.train import TrainConfig, Trainer

    steps = steps or ADAIN_STEPS
    seed_everything(ADAIN_SEED)
    net = _adain_model()
    task = AdaINTask(net, style_weight=ADAIN_STYLE_WEIGHT, lr=ADAIN_LR)
    pairs = ContentStylePairs(size=ADAIN_CROP, length=200_000, n_styles=ADAIN_N_STYLES, photos=TRAIN_PHOTOS)
    config = TrainConfig(steps=steps, batch_size=ADAIN_BATCH, seed=ADAIN_SEED, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, pairs, config).fit()
    settings = {"data": f"crops of the bundled photos {', '.join(TRAIN_PHOTOS)} with {ADAIN_N_STYLES} procedural "
                        "paintings (PainterlyStyles, seed 0)",
                "resolution": ADAIN_CROP, "steps": steps, "batch_size": ADAIN_BATCH, "seed": ADAIN_SEED,
                "lr": ADAIN_LR, "bottleneck": ADAIN_BOTTLENECK, "style_weight": ADAIN_STYLE_WEIGHT,
                "n_styles": ADAIN_N_STYLES}
    return net, settings


def adain_test_styles(size: int = HELD_OUT_SIZE) -> torch.Tensor:
    """(2, 3, size, size) in [0, 1]: two paintings never seen in training (a candy mosaic, ocean swirls)."""
    from course_lib.style.patterns import painterly

    return torch.stack([painterly(kind, size, seed=ADAIN_TEST_SEED, palette=pal) for kind, pal in ADAIN_TEST_STYLES])


@torch.no_grad()
def adain_style_and_layout(net: AdaINNet, photo: torch.Tensor, style: torch.Tensor,
                           image: torch.Tensor | None = None) -> tuple[float, float]:
    """(style loss, layout correlation) of ``image`` (default: ``net``'s stylisation) as ``photo`` in ``style``.

    ``photo`` and ``style`` (1, 3, H, W) in [0, 1]. The style loss is AdaIN's mean/std loss
    (:func:`course_lib.losses.mean_std_loss`) at ``net``'s layers; pass ``image=photo`` for the
    "do nothing" baseline.
    """
    from course_lib.losses import mean_std_loss

    net = net.eval()
    image = net(photo, style).clamp(0, 1) if image is None else image
    loss = float(mean_std_loss(net.encode(image), net.encode(style), net.layers))
    return loss, layout_correlation(image, photo)


@torch.no_grad()
def adain_scores(net: AdaINNet, photo: torch.Tensor | None = None, styles: torch.Tensor | None = None) -> dict[str, float]:
    """AdaIN on the held-out photo with two unseen styles A and B (seeded random VGG offline).

    * ``style_loss_{a,b}``: the output's mean/std style loss to its own style, beside
      ``style_loss_photo_{a,b}`` (the photo itself: the "do nothing" baseline);
    * ``layout_corr_{a,b}``: edge correlation of each output with the photo (1 = same edges);
    * ``output_diff``: mean absolute difference of the two outputs (pixels in [0, 1]);
    * ``style_loss_a_alpha{0,05}``: style loss to A at alpha 0 and 0.5 (alpha 1 is ``style_loss_a``);
    * ``mix_diff_{a,b}``: mean absolute difference of the 50/50 A-B mix from the A and B outputs.
    """
    from course_lib.losses import mean_std_loss
    from course_lib.style.adain import stylise_mix

    photo = held_out_photo() if photo is None else photo
    styles = (adain_test_styles(photo.shape[-1]) if styles is None else styles).to(photo.device)
    net = net.eval()
    sa, sb = styles[:1], styles[1:2]
    outs = [net(photo, s).clamp(0, 1) for s in (sa, sb)]
    fs = [net.encode(s) for s in (sa, sb)]
    loss = lambda img, f: float(mean_std_loss(net.encode(img), f, net.layers))  # noqa: E731
    half = stylise_mix(net, photo, sa, sb, alpha=0.5, mix=0.0)
    zero = stylise_mix(net, photo, sa, sb, alpha=0.0, mix=0.0)
    mix = stylise_mix(net, photo, sa, sb, alpha=1.0, mix=0.5)
    return {
        "style_loss_a": loss(outs[0], fs[0]), "style_loss_photo_a": loss(photo, fs[0]),
        "style_loss_b": loss(outs[1], fs[1]), "style_loss_photo_b": loss(photo, fs[1]),
        "layout_corr_a": layout_correlation(outs[0], photo), "layout_corr_b": layout_correlation(outs[1], photo),
        "output_diff": float((outs[0] - outs[1]).abs().mean()),
        "style_loss_a_alpha0": loss(zero, fs[0]), "style_loss_a_alpha05": loss(half, fs[0]),
        "mix_diff_a": float((mix - outs[0]).abs().mean()), "mix_diff_b": float((mix - outs[1]).abs().mean()),
    }


def _adain_score(net: AdaINNet) -> dict[str, float]:
    return {k: float(f"{v:.4g}") for k, v in adain_scores(net).items()}


# --------------------------------------------------------------------------- super-resolution (Ledig et al.)
SR_HR = 48                      # the lecture's quick high-resolution crop (low resolution: 12 px)
SR_WIDTH, SR_BLOCKS = 32, 4     # twice the lecture's quick width, one more block (the CLI's quick preset)
SR_BATCH, SR_SEED = 8, 0
SR_MSE_STEPS, SR_MSE_LR = 2000, 2e-3   # the lecture's quick learning rate, 17x its steps
SR_GAN_STEPS, SR_GAN_LR = 500, 5e-4    # 10x the lecture's 50 fine-tuning steps, half its rate
SR_VGG_LAYER = "relu2_2"        # the lecture's quick layer of the (offline: seeded random) VGG-19
SR_D_WIDTH = 16                 # the lecture's quick discriminator
#: held-out test crops: the cat photo, never a training photo
SR_TEST_PHOTOS, SR_TEST_SEED, SR_TEST_CROPS = ("chelsea",), 1, 64


def _sr_model() -> SRResNet:
    from course_lib.style.superres import SRResNet

    # bicubic_skip: the network starts at the bicubic baseline and learns only the missing detail
    return SRResNet(channels=SR_WIDTH, n_blocks=SR_BLOCKS, bicubic_skip=True)


def _sr_train_data():
    from course_lib.style.superres import SRCrops

    return SRCrops(size=SR_HR, length=1_000_000, seed=SR_SEED, photos=TRAIN_PHOTOS)


def _srresnet_train(steps: int | None) -> tuple[SRResNet, dict[str, Any]]:
    from course_lib.config import seed_everything
    from course_lib.style.superres import SRTask
    from course_lib.train import TrainConfig, Trainer

    steps = steps or SR_MSE_STEPS
    seed_everything(SR_SEED)
    G = _sr_model()
    config = TrainConfig(steps=steps, batch_size=SR_BATCH, seed=SR_SEED, log_every=100, progress=False, precision="fp32")
    Trainer(SRTask(G, "pixel", lr=SR_MSE_LR), _sr_train_data(), config).fit()
    settings = {"data": f"{SR_HR} px crops of the bundled photos {', '.join(TRAIN_PHOTOS)} and their x4 bicubic "
                        "downsampling", "resolution": SR_HR, "steps": steps, "batch_size": SR_BATCH, "seed": SR_SEED,
                "lr": SR_MSE_LR, "loss": "pixel MSE", "width": SR_WIDTH, "residual_blocks": SR_BLOCKS}
    return G, settings


def _srgan_train(steps: int | None) -> tuple[SRResNet, dict[str, Any]]:
    """SRGAN as the paper trains it: start from the trained SRResNet (the shipped ``srresnet_mse``)."""
    from course_lib import pretrained
    from course_lib.config import seed_everything
    from course_lib.style.superres import SRDiscriminator, SRTask
    from course_lib.style.vgg import VGGFeatures
    from course_lib.train import TrainConfig, Trainer

    steps = steps or SR_GAN_STEPS
    seed_everything(SR_SEED)
    G = _sr_model()
    G.load_state_dict(pretrained.load("srresnet_mse").state_dict())
    vgg = VGGFeatures(layers=(SR_VGG_LAYER,), input_range=(-1, 1))
    # vgg_rescale 1: the random relu2_2 features are already at the pixel loss's scale (lecture 03)
    task = SRTask(G, "srgan", vgg, SR_VGG_LAYER, SRDiscriminator(SR_HR, channels=SR_D_WIDTH), size=SR_HR,
                  vgg_rescale=1.0, lr=SR_GAN_LR)
    config = TrainConfig(steps=steps, batch_size=SR_BATCH, seed=SR_SEED + 1, log_every=100, progress=False,
                         precision="fp32")
    Trainer(task, _sr_train_data(), config).fit()
    settings = {"data": f"{SR_HR} px crops of the bundled photos {', '.join(TRAIN_PHOTOS)} and their x4 bicubic "
                        "downsampling", "resolution": SR_HR, "steps": steps, "batch_size": SR_BATCH, "seed": SR_SEED,
                "lr": SR_GAN_LR, "loss": f"VGG {SR_VGG_LAYER} MSE + 1e-3 adversarial",
                "init": f"srresnet_mse (sha256 {pretrained.info('srresnet_mse')['sha256'][:12]})",
                "width": SR_WIDTH, "residual_blocks": SR_BLOCKS, "discriminator_width": SR_D_WIDTH}
    return G, settings


def sr_test_batch(size: int = SR_HR, n: int = SR_TEST_CROPS) -> dict[str, torch.Tensor]:
    """Held-out pairs: ``{"lr": (n, 3, size/4, size/4), "hr": (n, 3, size, size)}`` in [0, 1], crops of the cat photo."""
    from course_lib.style.superres import SRCrops

    data = SRCrops(size=size, length=n, seed=SR_TEST_SEED, photos=SR_TEST_PHOTOS)
    return torch.utils.data.default_collate([data[i] for i in range(n)])


@torch.no_grad()
def sr_scores(G: SRResNet, batch: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """PSNR, SSIM and relative high-frequency energy ("detail", 1 = as sharp as the truth) of ``G``
    on held-out crops, beside bicubic upsampling's (the trivial baseline)."""
    from course_lib.style.superres import bicubic, evaluate, upscale

    batch = sr_test_batch() if batch is None else batch
    scores = evaluate({"model": upscale(G, batch["lr"]), "bicubic": bicubic(batch["lr"])}, batch["hr"])
    m, b = scores["model"], scores["bicubic"]
    return {"psnr": m.psnr, "psnr_bicubic": b.psnr, "ssim": m.ssim, "ssim_bicubic": b.ssim,
            "detail": m.detail, "detail_bicubic": b.detail, "patch_swd": m.swd, "patch_swd_bicubic": b.swd}


def _sr_score(G: SRResNet) -> dict[str, float]:
    return {k: float(f"{v:.4g}") for k, v in sr_scores(G).items()}


SPECS: dict[str, Spec[Any]] = {
    "fast_style": Spec(
        lecture="03", description="lecture 03's Johnson et al. transformer network (width 16, 3 residual blocks) "
                                  "for the procedural 'swirls' style",
        make_model=_fast_model, train=_fast_train, score=_fast_score, budget_min=12,
    ),
    "cin_style": Spec(
        lecture="03", description="lecture 03's conditional-instance-norm network: fast_style with two more "
                                  "styles (mosaic, strokes), all three trained together",
        make_model=_cin_model, train=_cin_train, score=_cin_score, budget_min=15,
    ),
    "adain": Spec(
        lecture="03", description="lecture 03's AdaIN decoder (relu2_1 bottleneck) for arbitrary styles, "
                                  "trained with 256 procedural paintings",
        make_model=_adain_model, train=_adain_train, score=_adain_score, budget_min=12,
    ),
    "srresnet_mse": Spec(
        lecture="03", description="lecture 03's SRResNet x4 (width 32, 4 residual blocks, bicubic skip) "
                                  "trained with the pixel MSE",
        make_model=_sr_model, train=_srresnet_train, score=_sr_score, budget_min=12,
    ),
    "srgan": Spec(
        lecture="03", description="lecture 03's SRGAN x4: srresnet_mse fine-tuned with the VGG relu2_2 loss "
                                  "and 1e-3 x adversarial loss",
        make_model=_sr_model, train=_srgan_train, score=_sr_score, budget_min=12,
    ),
}
