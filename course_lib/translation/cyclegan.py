"""CycleGAN: unpaired image-to-image translation with cycle consistency.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017, and its reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix:
``models/networks.py``, ``models/cycle_gan_model.py``, ``util/image_pool.py``). Every number below
is theirs unless a comment says otherwise.

Two domains A and B (the paper's X and Y) and no pairs. Two generators and two discriminators:

==========  =======================  =========================================
here        paper                    role
==========  =======================  =========================================
``G_AB``    G: X -> Y                translate A to B
``G_BA``    F: Y -> X                translate B to A
``D_A``     D_X                      tell real A images from ``G_BA``'s outputs
``D_B``     D_Y                      tell real B images from ``G_AB``'s outputs
==========  =======================  =========================================

Losses of the generators (both trained by one Adam optimizer):

* adversarial, LSGAN (Mao et al. 2017): ``(D_B(G_AB(a)) - 1)^2 + (D_A(G_BA(b)) - 1)^2``;
* cycle consistency, weight ``lambda_cycle = 10`` per direction:
  ``10 * |G_BA(G_AB(a)) - a|_1 + 10 * |G_AB(G_BA(b)) - b|_1``;
* identity, weight ``lambda_identity * lambda_cycle = 0.5 * 10``: a B image fed to ``G_AB`` should
  come out unchanged (and an A image fed to ``G_BA``), which stops the generators from changing
  colours they need not change (paper Sec. 5.2, Fig. 9, "photo generation from paintings").

The discriminators see the generators' *recent history*: each fake goes through an
:class:`ImagePool` of 50 images (Shrivastava et al. 2017) before the discriminator judges it, and
their loss is halved (``0.5 * (real + fake)``) so that they learn more slowly than the generators.
Adam, lr 2e-4, betas (0.5, 0.999); the learning rate is constant for 100 epochs, then decays
linearly to zero over 100 more (``TrainConfig.lr_decay_start``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib._validate import check_float, check_tensor
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn.norm import conv_bias, init_weights, norm_layer
from course_lib.nn.patchgan import PatchGAN
from course_lib.train.loop import Phase, TrainingTask

Batch = Mapping[str, torch.Tensor]

#: The ResNet generator downsamples twice (stride 2), so image sides must be multiples of 4; at the
#: bottleneck a reflection pad of 1 needs at least 2 pixels, so sides must also be >= 8.
DOWNSAMPLINGS = 2
MIN_SIZE = 2 * 2**DOWNSAMPLINGS


def check_image_size(height: int, width: int, name: str = "images") -> None:
    """Raise ``ValueError`` unless both sides are multiples of 4 and at least 8 pixels."""
    step = 2**DOWNSAMPLINGS
    if height < MIN_SIZE or width < MIN_SIZE or height % step or width % step:
        raise ValueError(
            f"{name} are {height}x{width}, but the ResNet generator downsamples {DOWNSAMPLINGS} times "
            f"by 2: each side must be a multiple of {step} and at least {MIN_SIZE} pixels. "
            "Resize or crop to e.g. 32, 64, 128 or 256."
        )


# --------------------------------------------------------------------------- generator
class ResnetBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3x3 convs, reflection padding and normalisation.

    Reflection padding (instead of zeros) avoids dark or bright borders in the output: the paper's
    Appendix 7.2 ("reflection padding was used to reduce artifacts"). (N, C, H, W) -> same shape.
    """

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s (2016) transformation network as CycleGAN uses it (paper Appendix 7.2).

    ``c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3`` then tanh, where ``c7s1-k`` is a 7x7
    conv (stride 1, reflection padding) + norm + ReLU, ``dk`` a 3x3 stride-2 conv + norm + ReLU,
    ``Rk`` a :class:`ResnetBlock` and ``uk`` a 3x3 stride-1/2 (transposed) conv + norm + ReLU.
    The paper uses 9 blocks for 256x256 images and 6 for 128x128.

    (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1]; H and W must be
    multiples of 4 and at least 8 (:func:`check_image_size`).
    With ``ngf=64, n_blocks=9`` and instance norm it has 11,378,179 parameters, as the reference.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance") -> None:
        super().__init__()
        if n_blocks < 0 or ngf <= 0:
            raise ValueError(f"need ngf > 0 and n_blocks >= 0, got ngf={ngf}, n_blocks={n_blocks}")
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = conv_bias(norm)
        layers: list[nn.Module] = [  # c7s1-ngf
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True),
        ]
        width = ngf
        for _ in range(DOWNSAMPLINGS):  # d128, d256
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=bias),
                       norm_layer(norm, width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResnetBlock(width, norm) for _ in range(n_blocks)]
        for _ in range(DOWNSAMPLINGS):  # u128, u64: output_padding=1 makes the size exactly double
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       norm_layer(norm, width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]  # c7s1-3
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", "ResnetGenerator", f"an (N, {self.in_channels}, H, W) tensor")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"ResnetGenerator expects (N, {self.in_channels}, H, W) images, got shape {tuple(x.shape)}"
            )
        check_float(x, "x", "ResnetGenerator", (-1.0, 1.0))  # metadata only: free at every step
        check_image_size(x.shape[-2], x.shape[-1])
        return self.model(x)


# --------------------------------------------------------------------------- image pool
class ImagePool(nn.Module):
    """A history of generated images (Shrivastava et al. 2017; CycleGAN Sec. 4, "Training details").

    Training the discriminator only on the newest fakes lets the two players chase each other in
    circles; showing it a mix of current and older fakes steadies it. :meth:`query` takes a batch
    of fakes and returns a batch of the same shape where each image is

    * the new image itself, while the pool holds fewer than ``pool_size`` images (it is stored);
    * otherwise, with probability 1/2, the new image (the pool is unchanged), and with probability
      1/2 a stored image chosen at random, which the new image then replaces in the pool.

    Images are stored detached (the discriminator's update must not reach the generator). The
    pool is part of the module's state, so checkpoints save it and a resumed run continues exactly.
    Random choices use torch's global generator (seeded and checkpointed by the trainer).
    """

    def __init__(self, pool_size: int = 50) -> None:
        super().__init__()
        if not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size must be an int >= 0 (0 turns the pool off), got {pool_size!r}")
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) new fakes -> (N, C, H, W) fakes to show the discriminator (detached)."""
        images = images.detach()
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                k = int(torch.randint(self.pool_size, ()))
                out.append(self.images[k])
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    # The pool travels with the checkpoint as "extra state" (nn.Module's hook for non-tensor state).
    def get_extra_state(self) -> dict[str, Any]:
        stacked = torch.stack(self.images).cpu() if self.images else torch.zeros(0)
        return {"images": stacked}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.images = [t.clone() for t in state["images"]] if state["images"].numel() else []

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}, stored={len(self.images)}"


# --------------------------------------------------------------------------- losses
def cycle_consistency_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference ``|F(G(x)) - x|_1`` (unweighted; CycleGAN weights it by 10)."""
    if real.shape != reconstructed.shape:
        raise ValueError(f"real {tuple(real.shape)} and reconstructed {tuple(reconstructed.shape)} differ in shape")
    return F.l1_loss(reconstructed, real)


def identity_loss(real: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Mean ``|G(y) - y|_1`` for ``y`` already in G's *target* domain (unweighted; CycleGAN: 0.5 * 10)."""
    if real.shape != mapped.shape:
        raise ValueError(f"real {tuple(real.shape)} and mapped {tuple(mapped.shape)} differ in shape")
    return F.l1_loss(mapped, real)


# --------------------------------------------------------------------------- the method
class CycleGANTask(TrainingTask):
    """CycleGAN's training recipe (see the module docstring) for the course's :class:`~course_lib.train.Trainer`.

    Batches are dicts ``{"A": (N, channels_a, H, W), "B": (N, channels_b, H, W)}`` in [-1, 1]
    (:class:`course_lib.data.UnpairedFolder`, :class:`course_lib.data.unpaired.SeasonScenes`).
    Updates per iteration, in the reference's order: ``"G"`` (both generators), then ``"D"``
    (both discriminators, on fakes drawn from the pools).

    Args:
        channels_a, channels_b: image channels of the two domains.
        ngf, ndf: widths of the generators' first layer and of the discriminators' first layer.
        n_blocks: residual blocks per generator (9 at 256 px, 6 at 128 px).
        n_layers_d: stride-2 layers of the PatchGAN (3 = 70x70 patches).
        lambda_cycle: weight of each direction's cycle loss (10).
        lambda_identity: identity weight *relative to* ``lambda_cycle`` (0.5, so 5 in total; 0 = off).
        pool_size: images in each history pool (50; 0 = off).
        lr, betas: Adam settings of both optimizers.
        gan_mode: ``"lsgan"`` (CycleGAN) or ``"vanilla"``.
    """

    def __init__(
        self,
        channels_a: int = 3,
        channels_b: int = 3,
        ngf: int = 64,
        ndf: int = 64,
        n_blocks: int = 9,
        n_layers_d: int = 3,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        gan_mode: str = "lsgan",
    ) -> None:
        super().__init__()
        if lambda_identity > 0 and channels_a != channels_b:
            raise ValueError(
                f"the identity loss feeds B images ({channels_b} channels) to G_AB, which expects A "
                f"images ({channels_a} channels): the domains' channel counts must match. Pass "
                "lambda_identity=0 to train without it, or convert one domain (e.g. grey -> RGB)."
            )
        if lambda_cycle < 0 or lambda_identity < 0:
            raise ValueError(f"loss weights must be >= 0, got lambda_cycle={lambda_cycle}, lambda_identity={lambda_identity}")
        self.channels_a, self.channels_b = channels_a, channels_b
        self.G_AB = init_weights(ResnetGenerator(channels_a, channels_b, ngf, n_blocks))
        self.G_BA = init_weights(ResnetGenerator(channels_b, channels_a, ngf, n_blocks))
        self.D_A = init_weights(PatchGAN(channels_a, ndf, n_layers_d, norm="instance"))
        self.D_B = init_weights(PatchGAN(channels_b, ndf, n_layers_d, norm="instance"))
        self.pool_A, self.pool_B = ImagePool(pool_size), ImagePool(pool_size)
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity
        self.n_layers_d = n_layers_d
        #: smallest image side: the PatchGAN's stride-1 normalised layer sees H / 2**n_layers_d - 1 >= 2 pixels
        self.min_size = max(MIN_SIZE, 3 * 2**n_layers_d)
        self.lr, self.betas, self.gan_mode = lr, betas, gan_mode

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        g_params = list(self.G_AB.parameters()) + list(self.G_BA.parameters())
        d_params = list(self.D_A.parameters()) + list(self.D_B.parameters())
        return {"G": torch.optim.Adam(g_params, self.lr, betas=self.betas),
                "D": torch.optim.Adam(d_params, self.lr, betas=self.betas)}

    def _inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, Mapping) or "A" not in batch or "B" not in batch:
            raise KeyError("CycleGAN batches are dicts with an 'A' and a 'B' image batch "
                           f"(UnpairedFolder, SeasonScenes); got {type(batch).__name__}")
        real_a, real_b = batch["A"], batch["B"]
        for name, x, c in (("A", real_a, self.channels_a), ("B", real_b, self.channels_b)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(f"domain {name} images must be (N, {c}, H, W), got {tuple(x.shape)}: "
                                 f"the task was built with channels_{name.lower()}={c}")
            check_image_size(x.shape[-2], x.shape[-1], f"domain {name} images")
            if min(x.shape[-2:]) < self.min_size:
                raise ValueError(
                    f"domain {name} images are {x.shape[-2]}x{x.shape[-1]}, too small for a PatchGAN with "
                    f"{self.n_layers_d} stride-2 layers and instance norm (its last normalised map needs 2x2 "
                    f"pixels): use sides >= {self.min_size} or fewer discriminator layers (n_layers_d)"
                )
        return real_a, real_b

    def forward_step(self, batch: Batch, phase: Phase) -> dict[str, torch.Tensor]:
        real_a, real_b = self._inputs(batch)
        fake_b = self.G_AB(real_a)          # G(x)
        fake_a = self.G_BA(real_b)          # F(y)
        return {"fake_b": fake_b, "rec_a": self.G_BA(fake_b),   # F(G(x)) ~ x
                "fake_a": fake_a, "rec_b": self.G_AB(fake_a)}   # G(F(y)) ~ y

    def update_loss(self, name: str, batch: Batch, out: dict[str, torch.Tensor], phase: Phase) -> dict[str, torch.Tensor]:
        real_a, real_b = self._inputs(batch)
        if name == "G":
            adv = (generator_loss(self.D_B(out["fake_b"]), self.gan_mode)
                   + generator_loss(self.D_A(out["fake_a"]), self.gan_mode))
            cycle = self.lambda_cycle * (cycle_consistency_loss(real_a, out["rec_a"])
                                         + cycle_consistency_loss(real_b, out["rec_b"]))
            losses = {"adv": adv, "cycle": cycle}
            if self.lambda_identity > 0:
                w = self.lambda_cycle * self.lambda_identity
                losses["identity"] = w * (identity_loss(real_b, self.G_AB(real_b))
                                          + identity_loss(real_a, self.G_BA(real_a)))
            losses["loss"] = sum(losses.values())  # type: ignore[assignment]
            return losses
        if name == "D":
            fake_b = self.pool_B.query(out["fake_b"])
            fake_a = self.pool_A.query(out["fake_a"])
            # Halved: the discriminators learn at half the generators' rate (reference: loss_D * 0.5).
            d_b = 0.5 * discriminator_loss(self.D_B(real_b), self.D_B(fake_b), self.gan_mode)
            d_a = 0.5 * discriminator_loss(self.D_A(real_a), self.D_A(fake_a), self.gan_mode)
            return {"loss": d_a + d_b, "D_A": d_a, "D_B": d_b}
        raise KeyError(f"unknown update {name!r}; CycleGAN has 'G' and 'D'")

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Translate a batch (no gradient, eval mode): ``"AtoB"`` uses ``G_AB``, ``"BtoA"`` ``G_BA``."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        g = self.G_AB if direction == "AtoB" else self.G_BA
        was = g.training
        g.eval()
        out = g(images)
        g.train(was)
        return out

    @torch.no_grad()
    def sample(self, batch: Batch) -> torch.Tensor:
        """Rows for a sample grid: real A, G_AB(A), G_BA(G_AB(A)), real B, G_BA(B), G_AB(G_BA(B))."""
        real_a, real_b = self._inputs(batch)
        fake_b = self.translate(real_a, "AtoB")
        fake_a = self.translate(real_b, "BtoA")
        rows = [real_a, fake_b, self.translate(fake_b, "BtoA"), real_b, fake_a, self.translate(fake_a, "AtoB")]
        return torch.cat([r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows])


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def heldout_scores(translate: Any, source: torch.Tensor, target: torch.Tensor,
                   batch_size: int = 32) -> dict[str, dict[str, float]]:
    """Compare a translation with the *true* counterparts of held-out images.

    ``translate``: maps an (n, C, H, W) batch in [-1, 1] to its translation; ``source`` and
    ``target``: (N, C, H, W) in [-1, 1], ``target[i]`` the true counterpart of ``source[i]``
    (:meth:`course_lib.data.unpaired.SeasonScenes.pairs`). Returns mean L1 and PSNR (dB) for the
    translation (``"model"``) and for the untranslated input (``"input"``), the trivial baseline
    that a translation must beat.
    """
    from course_lib import metrics

    if source.shape != target.shape:
        raise ValueError(f"source {tuple(source.shape)} and target {tuple(target.shape)} differ in shape")
    outputs = torch.cat([translate(source[i:i + batch_size]) for i in range(0, len(source), batch_size)])
    scores = {}
    for name, images in (("model", outputs), ("input", source)):
        scores[name] = {"l1": float(metrics.l1(images, target).mean()),
                        "psnr": float(metrics.psnr(images.clamp(-1, 1), target, (-1, 1)).mean())}
    return scores


# --------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """Sizes and schedule of one CycleGAN configuration (used by the lectures and the CLI)."""

    size: int
    ngf: int
    ndf: int
    n_blocks: int
    steps: int
    batch_size: int
    lr: float
    lr_decay_start: int | None
    pool_size: int = 50

    def task(self, channels_a: int = 3, channels_b: int = 3, **overrides: Any) -> CycleGANTask:
        """A :class:`CycleGANTask` with this preset's widths (keyword overrides win)."""
        kwargs = dict(channels_a=channels_a, channels_b=channels_b, ngf=self.ngf, ndf=self.ndf,
                      n_blocks=self.n_blocks, pool_size=self.pool_size, lr=self.lr)
        kwargs.update(overrides)
        return CycleGANTask(**kwargs)  # type: ignore[arg-type]


#: quick: minutes on one CPU thread. 32x32 scenes, narrow nets, 6 blocks (the paper's choice below
#: 256 px), a higher learning rate and a short linear decay so that a few hundred steps suffice.
#: paper: 256x256, ngf = ndf = 64, 9 blocks, batch 1, lr 2e-4 for 100 epochs then linear decay over
#: 100 more (the epochs are counted in images of the data set; see
#: :func:`course_lib.translation.recipes.cyclegan`).
PRESETS: dict[str, Preset] = {
    "quick": Preset(size=32, ngf=16, ndf=16, n_blocks=6, steps=200, batch_size=4, lr=1e-3, lr_decay_start=100),
    "paper": Preset(size=256, ngf=64, ndf=64, n_blocks=9, steps=200 * 1000, batch_size=1, lr=2e-4,
                    lr_decay_start=100 * 1000),
}


def preset(name: str) -> Preset:
    """The ``"quick"`` or ``"paper"`` preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown CycleGAN preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def describe(task: CycleGANTask) -> dict[str, int]:
    """Parameter counts of the four networks."""
    return {name: sum(p.numel() for p in getattr(task, name).parameters()) for name in ("G_AB", "G_BA", "D_A", "D_B")}


__all__ = [
    "CycleGANTask", "ImagePool", "PRESETS", "Preset", "ResnetBlock", "ResnetGenerator", "check_image_size",
    "cycle_consistency_loss", "describe", "heldout_scores", "identity_loss", "preset",
]
