"""pix2pix: paired image-to-image translation with a conditional GAN (Isola et al., CVPR 2017).

The generator G maps an input image x (a label map, an edge map, a grey photo) to an output
image; the discriminator D sees the *pair* (x, y) and says whether y is the real partner of x or
G's attempt. G minimises

    L_cGAN(G, D) + lambda_L1 * ||y - G(x)||_1,        lambda_L1 = 100

(paper Eq. 4). The L1 term makes G's output close to the target at low frequencies; the GAN term
punishes the blur that L1 alone produces, one patch at a time. The pieces, as in the paper and its
reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` and
``models/pix2pix_model.py``):

* :class:`UnetGenerator`: an encoder-decoder whose layer ``i`` is concatenated to layer
  ``n - i`` (skip connections), built recursively from :class:`UnetSkipBlock`. ``num_downs = 8``
  for 256x256 images (1x1 bottleneck). Dropout (p = 0.5) in the innermost decoder blocks is the
  only noise source: the paper found a noise vector z was ignored.
* :class:`course_lib.nn.PatchGAN` (70x70 patches, 30x30 scores for 256x256 input) on the 6-channel
  pair ``torch.cat([x, y], 1)``.
* :class:`Pix2PixTask`: the training recipe: vanilla GAN loss with logits (or LSGAN), discriminator
  loss halved ("we divide the objective by 2 while optimizing D, which slows down the rate at which
  D learns relative to G"), Adam lr 2e-4, betas (0.5, 0.999), batch norm, weights from N(0, 0.02),
  linear learning-rate decay to 0 over the second half (``TrainConfig.lr_decay_start``).

Images are (N, C, H, W) tensors in [-1, 1].
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._validate import check_float
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn import PatchGAN, conv_bias, init_weights, norm_layer
from course_lib.train.loop import Phase, TrainingTask

Batch = dict[str, Any]

#: lambda_L1 of the paper (Sec. 4 and the reference's ``--lambda_L1 100``)
LAMBDA_L1 = 100.0


class UnetSkipBlock(nn.Module):
    """One level of the U-Net: ``x -> cat([x, up(inner(down(x)))], 1)``.

    ``down`` halves the size (LeakyReLU 0.2, 4x4 stride-2 conv, norm), ``inner`` is the next level
    (``None`` at the bottleneck), ``up`` doubles it back (ReLU, 4x4 stride-2 transposed conv, norm,
    optional dropout). The outermost block has no norm and no activation before its conv, ends in
    ``tanh`` and returns its output without the skip.

    Shapes: (N, outer, H, W) -> (N, 2 * outer, H, W) (outermost: (N, in, H, W) -> (N, outer, H, W)).

    Args:
        outer: channels of this level's input (and of ``up``'s output).
        inner: channels after ``down`` (the next level's input).
        inner_block: the next level, or ``None`` for the innermost block.
        in_channels: channels of the image (outermost block only; default ``outer``).
        outermost: the first/last level (image in, image out).
        norm: ``"batch"`` (pix2pix), ``"instance"`` or ``"none"``.
        dropout: dropout p = 0.5 after ``up`` (the reference does this in the ``num_downs - 5``
            blocks just outside the innermost one).
        skip: ``False`` removes the skip connection: a plain encoder-decoder (the paper's ablation).
    """

    def __init__(
        self,
        outer: int,
        inner: int,
        inner_block: UnetSkipBlock | None = None,
        in_channels: int | None = None,
        outermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
        skip: bool = True,
    ) -> None:
        super().__init__()
        self.outermost, self.innermost, self.skip = outermost, inner_block is None, skip
        bias = conv_bias(norm)  # batch norm's shift makes a conv bias redundant
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)
        # The next level returns cat([its input, its output]) = 2 * inner channels (no skip: inner).
        up_in = inner if (self.innermost or not inner_block.skip) else 2 * inner  # type: ignore[union-attr]
        if outermost:
            self.down = nn.Sequential(down_conv)
            self.up = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1), nn.Tanh())
        else:
            down: list[nn.Module] = [nn.LeakyReLU(0.2), down_conv]
            if not self.innermost:  # the 1x1 bottleneck is not normalised (batch norm of one value per map)
                down.append(norm_layer(norm, inner))
            self.down = nn.Sequential(*down)
            up: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                                   norm_layer(norm, outer)]
            if dropout:
                up.append(nn.Dropout(0.5))
            self.up = nn.Sequential(*up)
        self.inner = inner_block if inner_block is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(x)))
        if self.outermost or not self.skip:
            return y
        return torch.cat([x, y], dim=1)


def unet_channels(num_downs: int, ngf: int) -> list[int]:
    """Channels after each of the ``num_downs`` downsamplings: ngf, 2ngf, 4ngf, 8ngf, 8ngf, ..."""
    return [ngf * min(2**i, 8) for i in range(num_downs)]


class UnetGenerator(nn.Module):
    """pix2pix's U-Net: (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1].

    ``H`` and ``W`` must be divisible by ``2**num_downs`` (``num_downs = 8`` for 256x256 input
    gives a 1x1 bottleneck; the reference calls it ``unet_256``; ``num_downs = 7`` is ``unet_128``).
    Encoder channels: ngf, 2ngf, 4ngf, then 8ngf for every further level (C64-C128-C256-C512-C512-...
    in the paper's notation). Dropout sits in the decoder blocks of the levels whose input already
    has 8ngf channels, except the innermost (3 blocks for ``num_downs = 8``, as in the reference).

    With the defaults (3 -> 3 channels, num_downs 8, ngf 64, batch norm, dropout) the network has
    54,413,955 parameters, exactly as the reference's ``UnetGenerator``.

    Args:
        skip: ``False`` gives the paper's "encoder-decoder" ablation (same layers, no skips).
        init_gain: std of the N(0, gain) initialisation (``None`` keeps PyTorch's default).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        dropout: bool = True,
        skip: bool = True,
        init_gain: float | None = 0.02,
    ) -> None:
        super().__init__()
        if not isinstance(num_downs, int) or num_downs < 2:
            raise ValueError(f"num_downs must be an int >= 2, got {num_downs!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        ch = unet_channels(num_downs, ngf)
        # Build from the bottleneck outwards: level i maps ch[i-1] -> ch[i] channels.
        block = UnetSkipBlock(ch[-2], ch[-1], None, norm=norm, skip=skip)
        for i in range(num_downs - 2, 0, -1):
            use_dropout = dropout and ch[i - 1] == ngf * 8  # 8ngf in and out, not the innermost
            block = UnetSkipBlock(ch[i - 1], ch[i], block, norm=norm, dropout=use_dropout, skip=skip)
        self.model = UnetSkipBlock(out_channels, ch[0], block, in_channels=in_channels, outermost=True,
                                   norm=norm, skip=skip)
        if init_gain is not None:
            init_weights(self, init_gain)

    @property
    def factor(self) -> int:
        """Height and width must be multiples of this (``2**num_downs``)."""
        return 2**self.num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image(x, self.in_channels, "UnetGenerator input", self.factor, "2**num_downs")
        return self.model(x)


def check_image(x: torch.Tensor, channels: int, what: str, factor: int = 1, factor_name: str = "") -> None:
    """Raise an error that says what to do unless ``x`` is a float (N, channels, H, W) batch with H, W % factor == 0.

    ``ValueError`` for a wrong shape; ``TypeError`` for an integer dtype (an 8-bit image straight
    from a file: the networks take floats in [-1, 1]). Metadata only: free at every training step.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{what} must be a (N, C, H, W) tensor, got {shape}; add a batch dimension with x[None]")
    check_float(x, "x", what, (-1.0, 1.0))
    if x.shape[1] != channels:
        raise ValueError(
            f"{what} must have {channels} channels, got {x.shape[1]} (shape {tuple(x.shape)}); "
            f"build the network with in_channels={x.shape[1]} or convert the images"
        )
    h, w = x.shape[-2:]
    if factor > 1 and (h % factor or w % factor):
        sizes = ", ".join(str(factor * k) for k in (1, 2, 4))
        raise ValueError(
            f"{what}: image size {h}x{w} is not divisible by {factor_name} = {factor}: "
            f"resize or crop to a multiple of {factor} ({sizes}, ...) or use fewer downsamplings"
        )


# --------------------------------------------------------------------------- test-time behaviour
@contextlib.contextmanager
def run_mode(model: nn.Module, dropout: bool, batch_stats: bool) -> Iterator[nn.Module]:
    """Run ``model`` with dropout on/off and batch norm using batch/running statistics.

    pix2pix is *tested in training mode*: dropout stays on (its only source of randomness) and batch
    norm normalises with the statistics of the test batch (with batch size 1 that is instance
    normalisation, exactly as in training). ``model.eval()`` instead switches dropout off and uses
    the running averages. This context sets the two independently and restores everything after;
    running statistics are never updated by the test batches.
    """
    saved = [(m, m.training, getattr(m, "momentum", None)) for m in model.modules()]
    try:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.train(batch_stats)
                if batch_stats:
                    m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
            elif isinstance(m, nn.Dropout):
                m.train(dropout)
            else:
                m.training = False
        yield model
    finally:
        for m, training, momentum in saved:
            m.training = training
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = momentum


@torch.no_grad()
def translate(G: nn.Module, x: torch.Tensor, dropout: bool = True, batch_stats: bool = True,
              batch_size: int = 1) -> torch.Tensor:
    """G's outputs for ``x`` (N, C, H, W), in chunks of ``batch_size`` (the test batch of batch norm).

    The defaults reproduce pix2pix's test protocol (dropout on, batch statistics, batch size 1).
    """
    with run_mode(G, dropout=dropout, batch_stats=batch_stats):
        return torch.cat([G(chunk) for chunk in x.split(batch_size)])


# --------------------------------------------------------------------------- the training recipe
class Pix2PixTask(TrainingTask):
    """pix2pix training (see the module docstring). Batches: ``{"input": x, "target": y}`` in [-1, 1].

    Updates per iteration, in the reference's order: ``fake = G(x)``; **D** on ``(x, y)`` real vs
    ``(x, fake.detach())`` fake, loss halved; **G** on ``gan(D(x, fake), real) + lambda_L1 * L1``.

    Args:
        G: the generator (default: :class:`UnetGenerator` with ``num_downs``, ``ngf``).
        D: the discriminator (default: :class:`PatchGAN` with ``n_layers``, ``ndf``) on the pair
            (``in_channels + out_channels``), or on the output alone if ``conditional=False``.
        gan_mode: ``"vanilla"`` (BCE with logits, the paper), ``"lsgan"``, or ``None`` for the
            paper's *L1-only* baseline (no discriminator at all).
        lambda_l1: weight of the L1 term (100; 0 gives the paper's "cGAN alone").
        conditional: ``False`` gives the paper's unconditional-GAN ablation (D sees only y).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        G: nn.Module | None = None,
        D: nn.Module | None = None,
        num_downs: int = 8,
        ngf: int = 64,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        gan_mode: str | None = "vanilla",
        lambda_l1: float = LAMBDA_L1,
        conditional: bool = True,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__()
        if gan_mode not in ("vanilla", "lsgan", None):
            raise ValueError(f"gan_mode must be 'vanilla', 'lsgan' or None (L1 only), got {gan_mode!r}")
        if gan_mode is None and lambda_l1 <= 0:
            raise ValueError("with gan_mode=None the L1 term is the only loss: lambda_l1 must be > 0")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.G = G if G is not None else UnetGenerator(in_channels, out_channels, num_downs, ngf, norm)
        self.gan_mode, self.lambda_l1, self.conditional = gan_mode, float(lambda_l1), conditional
        self.lr, self.betas = lr, betas
        self.D: nn.Module | None
        if gan_mode is not None:
            d_in = in_channels + out_channels if conditional else out_channels
            self.D = D if D is not None else init_weights(PatchGAN(d_in, ndf, n_layers, norm))
        else:
            self.D = None

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts: dict[str, torch.optim.Optimizer] = {}
        if self.D is not None:
            opts["D"] = adam(self.D.parameters(), self.lr, self.betas)
        opts["G"] = adam(self.G.parameters(), self.lr, self.betas)
        return opts

    def discriminate(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """D's patch logits for the pair (x, y): D sees both images stacked as channels."""
        assert self.D is not None
        return self.D(torch.cat([x, y], dim=1) if self.conditional else y)

    def forward_step(self, batch: Batch, phase: Phase) -> dict[str, Any]:
        return {"fake": self.G(batch["input"])}

    def update_loss(self, name: str, batch: Batch, out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        x, y, fake = batch["input"], batch["target"], out["fake"]
        if name == "D":
            # fake.detach(): this update must change D only; halved to slow D down relative to G.
            real_logits = self.discriminate(x, y)
            fake_logits = self.discriminate(x, fake.detach())
            loss = 0.5 * discriminator_loss(real_logits, fake_logits, self.gan_mode)  # type: ignore[arg-type]
            return {"loss": loss, "real_score": torch.sigmoid(real_logits).mean() if self.gan_mode == "vanilla"
                    else real_logits.mean()}
        l1 = F.l1_loss(fake, y)
        if self.D is None:
            return {"loss": self.lambda_l1 * l1, "l1": l1}
        gan = generator_loss(self.discriminate(x, fake), self.gan_mode)  # type: ignore[arg-type]
        return {"loss": gan + self.lambda_l1 * l1, "gan": gan, "l1": l1}

    @torch.no_grad()
    def sample(self, batch: Batch) -> torch.Tensor:
        """Rows of inputs, outputs (test protocol: dropout on, batch statistics) and targets."""
        x, y = batch["input"], batch["target"]
        fake = translate(self.G, x)
        return torch.cat([as_rgb(x), as_rgb(fake), as_rgb(y)])


def adam(params: Any, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam, with the fused kernel where PyTorch has one (CPU, CUDA): same maths, 1.2x faster steps."""
    params = list(params)
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None)


def as_rgb(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) -> (N, 3, H, W) by repeating the channel; 3-channel images pass unchanged."""
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1)
    if images.shape[1] != 3:
        raise ValueError(f"expected 1 or 3 channels, got {images.shape[1]}")
    return images


# --------------------------------------------------------------------------- measuring outputs
def colourfulness(images: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Mean chroma max(R, G, B) - min(R, G, B) of (N, 3, H, W) images in [-1, 1], in [0, 1] units.

    Grey pixels score 0. An L1-trained generator facing several plausible colours predicts their
    median, which is duller than any of them: this number goes down. ``mask`` (broadcastable to
    (N, H, W), True = counted) restricts the mean to some pixels (e.g. the wall).
    """
    u = (images.clamp(-1, 1) + 1) / 2
    chroma = u.max(1).values - u.min(1).values
    if mask is None:
        return float(chroma.mean())
    m = torch.as_tensor(mask, dtype=torch.bool).expand_as(chroma)
    if not m.any():
        raise ValueError("mask selects no pixel")
    return float(chroma[m].mean())


def sharpness(images: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels of (N, C, H, W) images in [-1, 1], in [0, 1] units.

    Blur lowers it; noise raises it: compare it with the real images' value, not "the higher the better".
    """
    u = (images.clamp(-1, 1) + 1) / 2
    return float(((u[..., 1:, :] - u[..., :-1, :]).abs().mean() + (u[..., :, 1:] - u[..., :, :-1]).abs().mean()) / 2)


def paired_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """How close ``pred`` is to ``target`` (L1, PSNR) and how real it looks (chroma, sharpness, patch distance).

    Both (N, 3, H, W) in [-1, 1]. The patch distance is the sliced Wasserstein distance between the
    4x4 patches of ``pred`` and of ``target`` (:func:`course_lib.metrics.sliced_wasserstein`): it
    compares distributions, so a sharp image with the wrong colour scores better than a blur.
    """
    from course_lib import metrics

    return {"L1": float(metrics.l1(pred, target).mean()), "PSNR": float(metrics.psnr(pred, target, (-1, 1)).mean()),
            "chroma": colourfulness(pred), "sharpness": sharpness(pred),
            "patch dist": metrics.sliced_wasserstein(pred, target)}


def format_scores(rows: dict[str, dict[str, float]]) -> str:
    """A plain-text table of :func:`paired_scores` results, one row per model."""
    keys = list(next(iter(rows.values())))
    width = max(len(k) for k in rows) + 2
    lines = [f"{'':<{width}}" + "".join(f"{k:>12}" for k in keys)]
    for name, scores in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{scores[k]:>12.4f}" if k != "PSNR" else f"{scores[k]:>12.2f}"
                                                  for k in keys))
    return "\n".join(lines)
