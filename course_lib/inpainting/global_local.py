"""Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra & Ishikawa, SIGGRAPH 2017).

Three networks (the paper's Sec. 3):

* the **completion network** (:class:`CompletionNetwork`, the paper's Table 1): fully
  convolutional, so it fills images of any size; two stride-2 convolutions, then four dilated
  convolutions (dilations 2, 4, 8, 16) at quarter resolution that give every output pixel a
  receptive field of about 300 px (lecture 01), then two transposed convolutions back up and a
  sigmoid. Input: the image with the hole blanked and the mask as a fourth channel. Pixels
  outside the hole are replaced by the input;
* the **global** and **local context discriminators** (Table 2): strided 5x5 convolutions and a
  1024-unit fully connected layer each, the global one on the whole image, the local one on a
  crop (half the image's side) centred on the hole; their two 1024-vectors are concatenated and
  a final fully connected layer outputs the probability that the image is real
  (:class:`ContextDiscriminator`).

Training (Sec. 3.3): the completion network minimises the MSE on the hole plus ``alpha = 0.0004``
times the GAN loss; it runs in three phases (:func:`three_phases`): ``T_C`` iterations of the
completion network with MSE only, ``T_D`` iterations of the discriminators alone against the
fixed completion network, then ``T`` iterations of both (the paper: 90k, 10k, 400k on Places2,
batch 96). Batch normalisation follows every convolution except the last layers of the completion
network and of the discriminator. The paper optimises with ADADELTA.

Post-processing (Sec. 3.4): fast marching, then Poisson blending (:func:`postprocess`).

Images are in [-1, 1] at the interfaces of this module (the sigmoid output is mapped from
[0, 1]); masks use the course convention 1 = hole.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

from course_lib.inpainting.blending import poisson_blend
from course_lib.inpainting.common import check_image_mask, composite
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.receptive_field import LayerSpec
from course_lib.train.loop import Phase, TrainingTask


class Layer(NamedTuple):
    """One row of the paper's Table 1: type, kernel size, dilation, stride, output channels.

    ``stride`` 2 on a ``"deconv"`` row means the paper's "1/2": upsampling by 2.
    """

    type: str
    kernel: int
    dilation: int
    stride: int
    outputs: int


#: Iizuka et al. 2017, Table 1 (the completion network). Every layer is followed by ReLU (and
#: batch norm), except the output layer, followed by a sigmoid.
COMPLETION_TABLE: tuple[Layer, ...] = (
    Layer("conv", 5, 1, 1, 64),
    Layer("conv", 3, 1, 2, 128),
    Layer("conv", 3, 1, 1, 128),
    Layer("conv", 3, 1, 2, 256),
    Layer("conv", 3, 1, 1, 256),
    Layer("conv", 3, 1, 1, 256),
    Layer("dilated conv", 3, 2, 1, 256),
    Layer("dilated conv", 3, 4, 1, 256),
    Layer("dilated conv", 3, 8, 1, 256),
    Layer("dilated conv", 3, 16, 1, 256),
    Layer("conv", 3, 1, 1, 256),
    Layer("conv", 3, 1, 1, 256),
    Layer("deconv", 4, 1, 2, 128),
    Layer("conv", 3, 1, 1, 128),
    Layer("deconv", 4, 1, 2, 64),
    Layer("conv", 3, 1, 1, 32),
    Layer("output", 3, 1, 1, 3),
)
#: Table 2 (a) local and (b) global discriminators: 5x5 stride-2 convs, then FC to 1024 units.
LOCAL_D_CHANNELS = (64, 128, 256, 512, 512)  # 128x128 crop -> 4x4
GLOBAL_D_CHANNELS = (64, 128, 256, 512, 512, 512)  # 256x256 image -> 4x4
FC_UNITS = 1024
#: the weight of the GAN loss (Sec. 4: alpha = 0.0004)
ALPHA = 4e-4


def _scaled(channels: int, width: int) -> int:
    """Channels of a table row for a network of ``width`` (the paper: 64): ``channels * width / 64``."""
    return max(1, channels * width // 64)


def completion_layer_specs() -> list[LayerSpec]:
    """The geometry of Table 1 for :mod:`course_lib.receptive_field` (same as lecture 01's list)."""
    specs = []
    for row in COMPLETION_TABLE:
        if row.type == "deconv":
            specs.append(LayerSpec(row.kernel, row.stride, 1, 1, transposed=True))
        else:
            specs.append(LayerSpec(row.kernel, row.stride, row.dilation, row.dilation * (row.kernel - 1) // 2))
    return specs


class CompletionNetwork(nn.Module):
    """Table 1 of Iizuka et al. 2017, with every channel count scaled by ``width / 64``.

    Input: ``image`` (N, 3, H, W) in [-1, 1] and ``mask`` (N, 1, H, W), 1 = hole; H and W must be
    multiples of 4 (two stride-2 layers). The network sees ``[image * (1 - mask), mask]`` (the hole
    set to 0, the middle grey, as the official ``inpaint.lua`` zeroes the mean-subtracted hole).

    * :meth:`predict` returns the raw sigmoid output (N, 3, H, W) in [0, 1], over the whole image;
    * ``forward`` returns the completion in [-1, 1]: the prediction inside the hole, the input
      outside it ("pixels outside the hole are replaced by the input", Sec. 3.1).
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int (64 in the paper), got {width!r}")
        self.width = width
        layers: list[nn.Module] = []
        c_in = 4  # RGB + mask
        for row in COMPLETION_TABLE:
            c_out = 3 if row.type == "output" else _scaled(row.outputs, width)
            if row.type == "deconv":
                layers.append(nn.ConvTranspose2d(c_in, c_out, row.kernel, row.stride, padding=1))
            else:
                pad = row.dilation * (row.kernel - 1) // 2  # 'same' padding
                layers.append(nn.Conv2d(c_in, c_out, row.kernel, row.stride, pad, dilation=row.dilation))
            if row.type == "output":
                layers.append(nn.Sigmoid())
            else:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        self.net = nn.Sequential(*layers)

    def _check(self, image: torch.Tensor, mask: torch.Tensor) -> None:
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be (N, 3, H, W), got {tuple(image.shape)}")
        if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != image.shape[-2:]:
            raise ValueError(f"mask must be (N, 1, H, W) with the image's H and W {tuple(image.shape[-2:])}, "
                             f"got {tuple(mask.shape)}")
        h, w = image.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"image size {h}x{w} is not a multiple of 4 (the network downsamples twice by 2): "
                             f"crop or resize to {h // 4 * 4}x{w // 4 * 4}")

    def predict(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Raw output (N, 3, H, W) in [0, 1] (sigmoid), for every pixel."""
        self._check(image, mask)
        return self.net(torch.cat([image * (1 - mask), mask], dim=1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return composite(image, mask, self.predict(image, mask) * 2 - 1)

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor, blend: bool = False) -> torch.Tensor:
        """Complete (3, H, W) or (N, 3, H, W) images in [-1, 1] in eval mode; optionally Poisson-blend.

        A mask with no hole returns the image unchanged; a full mask raises ``ValueError``.
        """
        images, masks, batched = check_image_mask(image, mask)
        was = self.training
        self.eval()
        try:
            raw = self.predict(images, masks) * 2 - 1
        finally:
            self.train(was)
        out = postprocess(images, masks, raw) if blend else composite(images, masks, raw)
        return out if batched else out[0]


def postprocess(image: torch.Tensor, mask: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
    """Sec. 3.4's post-processing as a Poisson blend of the prediction into the known pixels.

    The official code fills the hole by fast marching (OpenCV's Telea inpainting) and then
    Poisson-clones the network's output over it; only the hole's border values matter for the
    Poisson solve, so the course solves it directly: inside the hole, the gradients of the raw
    ``prediction``; on its border, the known pixels of ``image``. Colour offsets between the
    prediction and the context disappear, the prediction's structure stays. All in [-1, 1].
    """
    return poisson_blend(prediction, image, mask).clamp(-1, 1)


# ----------------------------------------------------------------------------- discriminators
def _d_layers(channels: tuple[int, ...], n_layers: int, width: int) -> nn.Sequential:
    """The first ``n_layers`` rows of a Table 2 column: 5x5 stride-2 conv, BN, ReLU."""
    layers: list[nn.Module] = []
    c_in = 3
    for c in channels[:n_layers]:
        c_out = _scaled(c, width)
        layers += [nn.Conv2d(c_in, c_out, 5, 2, 2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        c_in = c_out
    return nn.Sequential(*layers)


def _d_depth(size: int, table: tuple[int, ...], name: str) -> int:
    """Stride-2 layers that take ``size`` down to 4x4, as in Table 2 (6 for 256, 5 for 128)."""
    if not isinstance(size, int) or size < 8 or size & (size - 1):
        raise ValueError(f"{name} must be a power of two >= 8, got {size!r}")
    n = int(math.log2(size)) - 2
    if n > len(table):
        raise ValueError(f"{name}={size} needs {n} stride-2 layers, Table 2 has {len(table)}")
    return n


class ContextDiscriminator(nn.Module):
    """Table 2: global + local discriminators fused by a fully connected layer -> one logit per image.

    Args:
        global_size: side of the whole image (256 in the paper); local_size: side of the crop
            around the hole (128). The number of stride-2 layers follows from the sizes (the
            paper's 6 and 5 bring both to 4x4).
        width: channel scale, 64 = the paper.

    ``forward(image, local)`` takes (N, 3, G, G) and (N, 3, L, L) in [-1, 1] and returns (N,)
    logits (the paper ends in a sigmoid; the loss here applies it, stably).
    """

    def __init__(self, global_size: int = 256, local_size: int = 128, width: int = 64) -> None:
        super().__init__()
        self.global_size, self.local_size = global_size, local_size
        n_g = _d_depth(global_size, GLOBAL_D_CHANNELS, "global_size")
        n_l = _d_depth(local_size, LOCAL_D_CHANNELS, "local_size")
        units = _scaled(FC_UNITS, width)
        self.global_conv = _d_layers(GLOBAL_D_CHANNELS, n_g, width)
        self.global_fc = nn.Sequential(nn.Flatten(), nn.Linear(_scaled(GLOBAL_D_CHANNELS[n_g - 1], width) * 16, units),
                                       nn.ReLU(inplace=True))
        self.local_conv = _d_layers(LOCAL_D_CHANNELS, n_l, width)
        self.local_fc = nn.Sequential(nn.Flatten(), nn.Linear(_scaled(LOCAL_D_CHANNELS[n_l - 1], width) * 16, units),
                                      nn.ReLU(inplace=True))
        self.concat_fc = nn.Linear(2 * units, 1)  # Table 2 (c): concatenation -> FC -> sigmoid

    def forward(self, image: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
        if image.shape[-2:] != (self.global_size, self.global_size):
            raise ValueError(f"the global discriminator expects {self.global_size}x{self.global_size} images, "
                             f"got {tuple(image.shape[-2:])}")
        if local.shape[-2:] != (self.local_size, self.local_size):
            raise ValueError(f"the local discriminator expects {self.local_size}x{self.local_size} crops, "
                             f"got {tuple(local.shape[-2:])}: crop with local_crop(image, mask, {self.local_size})")
        g = self.global_fc(self.global_conv(image))
        lo = self.local_fc(self.local_conv(local))
        return self.concat_fc(torch.cat([g, lo], dim=1)).flatten()


# ----------------------------------------------------------------------------- local crops
def hole_boxes(mask: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 2) ``(top, left)`` of the ``size x size`` crop centred on each hole, clamped to the image.

    The hole's centre is the centre of its bounding box, ``cy = (first_row + last_row + 1) // 2``
    (the same for columns); the crop starts at ``cy - size // 2``, moved inside the image if it
    would stick out (``0 <= top <= H - size``).
    """
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask must be (N, 1, H, W), got {tuple(mask.shape)}")
    h, w = mask.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"a {size}x{size} crop does not fit in a {h}x{w} image")
    rows = mask[:, 0].amax(dim=2) > 0.5  # (N, H): rows that contain a hole pixel
    cols = mask[:, 0].amax(dim=1) > 0.5
    if not bool(rows.any(1).all()):
        raise ValueError("a mask has no hole, so there is no hole to centre the local crop on")
    idx_r = torch.arange(h, device=mask.device)
    idx_c = torch.arange(w, device=mask.device)
    first_r = torch.where(rows, idx_r, h).amin(1)
    last_r = torch.where(rows, idx_r, -1).amax(1)
    first_c = torch.where(cols, idx_c, w).amin(1)
    last_c = torch.where(cols, idx_c, -1).amax(1)
    top = ((first_r + last_r + 1) // 2 - size // 2).clamp(0, h - size)
    left = ((first_c + last_c + 1) // 2 - size // 2).clamp(0, w - size)
    return torch.stack([top, left], dim=1)


def crop(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) and (N, 2) ``(top, left)`` -> (N, C, size, size) crops (differentiable)."""
    return torch.stack([images[i, :, int(t):int(t) + size, int(left):int(left) + size]
                        for i, (t, left) in enumerate(boxes.tolist())])


def local_crop(images: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """The local discriminator's input: the ``size x size`` crop centred on each image's hole."""
    return crop(images, hole_boxes(mask, size), size)


def random_boxes(n: int, height: int, width: int, size: int, device: torch.device | None = None) -> torch.Tensor:
    """(n, 2) random crop corners (torch's RNG): the local patch of *real* images, which have no hole."""
    top = torch.randint(0, height - size + 1, (n,), device=device)
    left = torch.randint(0, width - size + 1, (n,), device=device)
    return torch.stack([top, left], dim=1)


# ----------------------------------------------------------------------------- training
def hole_mse(prediction01: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sec. 3.3's weighted MSE ``|| M_c * (C(x, M_c) - x) ||^2``, averaged over the hole's values.

    Computed on the sigmoid's [0, 1] scale (``prediction01``; ``image`` is in [-1, 1]), the scale
    on which the paper's ``alpha = 0.0004`` balances it against the GAN loss.
    """
    target = (image + 1) / 2
    return ((prediction01 - target) ** 2 * mask).sum() / (mask.sum() * prediction01.shape[1]).clamp_min(1)


def three_phases(tc: int, td: int, t: int) -> list[Phase]:
    """The paper's schedule (Sec. 3.3, Algorithm 1) as the course's :class:`~course_lib.train.Phase` list.

    1. ``T_C``: the completion network alone, MSE loss;
    2. ``T_D``: the discriminators alone, against the fixed completion network;
    3. ``T``: both, the completion network with MSE + alpha * GAN.
    """
    for name, value in (("tc", tc), ("td", td), ("t", t)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return [Phase("Tc: completion (MSE)", tc, updates=("C",), options={"adversarial": False}),
            Phase("Td: discriminators", td, updates=("D",), options={"adversarial": False}),
            Phase("T: joint", t, updates=("D", "C"), options={"adversarial": True})]


class GlobalLocalTask(TrainingTask):
    """Global & Local training: updates ``"D"`` (both discriminators) and ``"C"`` (completion).

    Batches: ``{"image": (N, 3, S, S) in [-1, 1], "mask": (N, 1, S, S)}`` with one rectangular
    hole per image (e.g. :func:`course_lib.inpainting.datasets.gl_rect_mask_fn`). Train with
    :func:`three_phases`.

    Args:
        image_size: S (256 in the paper); the local crop is S/2 (128).
        width: channel scale of all three networks (64 = the paper).
        alpha: weight of the GAN loss (0.0004).
        optimizer: ``"adadelta"`` (the paper) or ``"adam"`` (lr ``lr``; betas (0.9, 0.999) for the
            completion network, (0.5, 0.999) for the discriminators; faster in short CPU runs).
        real_local: where the local discriminator looks in *real* images: ``"random"`` (the
            paper: a random patch, real images have no hole) or ``"hole"`` (the same box as the
            completed image).
    """

    def __init__(self, image_size: int = 256, width: int = 64, alpha: float = ALPHA, optimizer: str = "adadelta",
                 lr: float = 1e-3, real_local: str = "random") -> None:
        super().__init__()
        if optimizer not in ("adadelta", "adam"):
            raise ValueError(f"optimizer must be 'adadelta' (the paper) or 'adam', got {optimizer!r}")
        if real_local not in ("random", "hole"):
            raise ValueError(f"real_local must be 'random' or 'hole', got {real_local!r}")
        self.image_size, self.local_size = image_size, image_size // 2
        self.C = CompletionNetwork(width)
        self.D = ContextDiscriminator(image_size, self.local_size, width)
        self.alpha, self.optimizer, self.lr, self.real_local = alpha, optimizer, lr, real_local

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.optimizer == "adadelta":  # lr 1.0, rho 0.9: ADADELTA sets its own step sizes
            return {"D": torch.optim.Adadelta(self.D.parameters()), "C": torch.optim.Adadelta(self.C.parameters())}
        # Adam: the usual GAN momentum (0.5) for the discriminators; the completion network spends most
        # of its steps on plain MSE regression, where the default 0.9 converges faster
        return {"D": torch.optim.Adam(self.D.parameters(), self.lr, betas=(0.5, 0.999)),
                "C": torch.optim.Adam(self.C.parameters(), self.lr, betas=(0.9, 0.999))}

    def forward_step(self, batch: dict[str, torch.Tensor], phase: Phase) -> dict[str, Any]:
        image, mask = batch["image"], batch["mask"]
        raw = self.C.predict(image, mask)
        completed = composite(image, mask, raw * 2 - 1)
        boxes = hole_boxes(mask, self.local_size)
        return {"raw": raw, "completed": completed, "boxes": boxes}

    def _real_boxes(self, batch: dict[str, torch.Tensor], out: dict[str, Any]) -> torch.Tensor:
        if self.real_local == "hole":
            return out["boxes"]
        n, _, h, w = batch["image"].shape
        return random_boxes(n, h, w, self.local_size, batch["image"].device)

    def discriminate(self, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Logits of the context discriminator for images and their local-crop corners."""
        return self.D(images, crop(images, boxes, self.local_size))

    def update_loss(self, name: str, batch: dict[str, torch.Tensor], out: dict[str, Any], phase: Phase) -> dict[str, torch.Tensor]:
        image, mask = batch["image"], batch["mask"]
        if name == "D":
            real = self.discriminate(image, self._real_boxes(batch, out))
            fake = self.discriminate(out["completed"].detach(), out["boxes"])
            return {"loss": discriminator_loss(real, fake, "vanilla"),
                    "acc": 0.5 * ((real > 0).float().mean() + (fake < 0).float().mean())}
        mse = hole_mse(out["raw"], image, mask)
        if not phase.options.get("adversarial", False):
            return {"loss": mse, "mse": mse}
        # The paper's min-max uses log(1 - D(C(x))); the non-saturating -log D(C(x)) has the same
        # fixed point and useful gradients when D wins (Goodfellow et al. 2014), as is standard.
        gan = generator_loss(self.discriminate(out["completed"], out["boxes"]), "vanilla")
        return {"loss": mse + self.alpha * gan, "mse": mse, "gan": gan}

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor, blend: bool = False) -> torch.Tensor:
        """The completion network's result, see :meth:`CompletionNetwork.inpaint`."""
        return self.C.inpaint(image, mask, blend=blend)

    @torch.no_grad()
    def sample(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        image, mask = batch["image"][:8], batch["mask"][:8]
        return torch.cat([image * (1 - mask), self.C.inpaint(image, mask), image])
