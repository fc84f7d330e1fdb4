"""Command-line recipes of topic 03: ``python -m course_lib.train fast_style|cin_style|adain|srresnet|srgan``.

``quick`` runs anywhere in minutes on the bundled photos and procedural paintings (with the
seeded random VGG when the ImageNet weights are not cached); ``paper`` is each paper's set-up,
meant for a GPU with the pretrained VGG (``python -m course_lib.style.vgg --download`` once).

``--data`` (optional):

* ``fast_style``, ``cin_style``: ``CONTENT_DIR`` or ``CONTENT_DIR,STYLE,STYLE,...`` where each
  STYLE is an image path or a name of :func:`course_lib.style.images.style_names`; an empty
  CONTENT_DIR (``,starry.jpg``) keeps the bundled photo crops.
* ``adain``: ``CONTENT_DIR,STYLE_DIR`` (MS-COCO and WikiArt in the paper).
* ``srresnet``, ``srgan``: ``HR_DIR`` (ImageNet in the paper; DIV2K works well).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from course_lib.train.cli import Recipe
from course_lib.train.loop import Phase, TrainConfig


def _split(data: str | None) -> list[str]:
    return [] if data is None else [p.strip() for p in data.split(",")]


def _style_images(names: Sequence[str], size: int) -> torch.Tensor:
    from course_lib.style.images import load_user_image, style_image, style_names

    out = []
    for name in names:
        out.append(style_image(name, size) if name in style_names() else load_user_image(name, size))
    return torch.stack(out)


class _Dict(Dataset):
    """Wrap a dataset of images into ``{"content": image, "style": random index}`` items."""

    def __init__(self, images: Dataset, n_styles: int) -> None:
        self.images, self.n_styles = images, n_styles

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"content": self.images[i], "style": torch.randint(self.n_styles, ())}


def _fast(preset: str, data: str | None, default_styles: Sequence[str]) -> Recipe:
    from course_lib.style.fast import (
        JOHNSON_CONTENT_LAYERS,
        JOHNSON_STYLE_LAYERS,
        FastStyleTask,
        StyledContent,
    )
    from course_lib.style.images import FolderCrops
    from course_lib.style.transformer_net import TransformerNet
    from course_lib.style.vgg import VGGFeatures

    parts = _split(data)
    content_dir = parts[0] if parts else ""
    style_names = parts[1:] or list(default_styles)
    quick = preset == "quick"
    size = 64 if quick else 256
    styles = _style_images(style_names, 128 if quick else 512)
    n = len(styles)
    if content_dir:
        images: Dataset = _Dict(FolderCrops(content_dir, size), n)
    else:
        images = StyledContent(size=size, length=100_000, n_styles=n)
    if quick:
        extractor = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1"))
        task = FastStyleTask(styles, TransformerNet(channels=16, n_residual=3, n_styles=n if n > 1 else None),
                             extractor, content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1", "relu3_1"),
                             style_weight=1e5)
        config = TrainConfig(steps=300, batch_size=4, log_every=25, sample_every=100)
    else:
        # Johnson et al.: VGG-16, 40k iterations of batch 4 at 256x256 (2 epochs of COCO), Adam 1e-3;
        # loss weights of pytorch/examples (content 1e5, style 1e10 on MSE-of-Gram => ratio 1e5).
        extractor = VGGFeatures(layers=tuple(dict.fromkeys(JOHNSON_CONTENT_LAYERS + JOHNSON_STYLE_LAYERS)), arch="vgg16")
        task = FastStyleTask(styles, TransformerNet(n_styles=n if n > 1 else None), extractor,
                             JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, style_weight=1e5)
        # Dumoulin et al. trained their N-style networks with batch 16 (40k steps as well)
        config = TrainConfig(steps=40_000, batch_size=4 if n == 1 else 16, log_every=100, sample_every=2000)
    what = "one style (Johnson et al.)" if n == 1 else f"{n} styles with conditional instance norm (Dumoulin et al.)"
    return Recipe(task=task, data=images, config=config, description=f"fast style transfer, {what}: {', '.join(style_names)}")


def fast_style(preset: str, data: str | None = None) -> Recipe:
    """Johnson et al.'s feed-forward network for one style (default: the procedural ``swirls``)."""
    return _fast(preset, data, ["swirls"])


def cin_style(preset: str, data: str | None = None) -> Recipe:
    """Dumoulin et al.'s N-style network (default: four procedural paintings)."""
    return _fast(preset, data, ["swirls", "mosaic", "strokes", "waves"])


class _PairFolders(Dataset):
    def __init__(self, content: Dataset, style: Dataset) -> None:
        self.content, self.style = content, style

    def __len__(self) -> int:
        return len(self.content)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = int(torch.randint(len(self.style), ()))  # type: ignore[arg-type]
        return {"content": self.content[i], "style": self.style[j]}


def adain(preset: str, data: str | None = None) -> Recipe:
    """Huang & Belongie's AdaIN decoder."""
    from course_lib.style.adain import ADAIN_LAYERS, AdaINNet, AdaINTask, ContentStylePairs
    from course_lib.style.images import FolderCrops
    from course_lib.style.vgg import VGGFeatures

    parts = _split(data)
    quick = preset == "quick"
    size = 64 if quick else 256
    if parts:
        if len(parts) != 2:
            raise SystemExit("adain --data takes CONTENT_DIR,STYLE_DIR")
        pairs: Dataset = _PairFolders(FolderCrops(parts[0], size, 2 * size), FolderCrops(parts[1], size, 2 * size))
    else:
        pairs = ContentStylePairs(size=size, length=100_000, n_styles=64 if quick else 512)
    task = AdaINTask(AdaINNet(VGGFeatures(layers=ADAIN_LAYERS)), style_weight=10.0, lr=5e-4 if quick else 1e-4)
    config = (TrainConfig(steps=300, batch_size=4, log_every=25, sample_every=100) if quick
              else TrainConfig(steps=160_000, batch_size=8, log_every=100, sample_every=5000))
    return Recipe(task=task, data=pairs, config=config, description="AdaIN decoder (arbitrary style transfer)")


def _sr_data(preset: str, data: str | None) -> tuple[Dataset, int]:
    from course_lib.style.images import FolderCrops
    from course_lib.style.superres import SRCrops, downscale

    size = 48 if preset == "quick" else 96
    if not data:
        return SRCrops(size=size, length=100_000), size

    folder = data  # (narrowed to a str for the class below)

    class Pairs(Dataset):
        def __init__(self) -> None:
            self.crops = FolderCrops(folder, size, size)

        def __len__(self) -> int:
            return len(self.crops)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            hr = self.crops[i]
            return {"lr": downscale(hr), "hr": hr}

    return Pairs(), size


def srresnet(preset: str, data: str | None = None) -> Recipe:
    """SRResNet x4 trained with the pixel MSE (Ledig et al.: 10^6 updates, batch 16, lr 1e-4)."""
    from course_lib.style.superres import SRResNet, SRTask

    pairs, size = _sr_data(preset, data)
    quick = preset == "quick"
    task = SRTask(SRResNet(channels=32, n_blocks=4) if quick else SRResNet(), "pixel", lr=1e-3 if quick else 1e-4)
    config = (TrainConfig(steps=300, batch_size=8, log_every=25, sample_every=100) if quick
              else TrainConfig(steps=1_000_000, batch_size=16, log_every=200, sample_every=10_000))
    return Recipe(task=task, data=pairs, config=config, description="SRResNet x4, pixel (MSE) loss")


def srgan(preset: str, data: str | None = None) -> Recipe:
    """SRGAN x4: VGG54 loss + 1e-3 adversarial loss; 10^5 updates at lr 1e-4, then 10^5 at 1e-5.

    (The paper starts from a trained SRResNet; pass its weights by resuming from a run folder that
    holds one, or accept a run from scratch in quick mode.)
    """
    from course_lib.style.superres import SRDiscriminator, SRResNet, SRTask
    from course_lib.style.vgg import VGGFeatures

    pairs, size = _sr_data(preset, data)
    quick = preset == "quick"
    layer = "relu2_2" if quick else "relu5_4"
    task = SRTask(SRResNet(channels=32, n_blocks=4) if quick else SRResNet(), "srgan",
                  VGGFeatures(layers=(layer,), input_range=(-1, 1)), layer,
                  SRDiscriminator(size, channels=16 if quick else 64), size=size,
                  vgg_rescale=1.0 if quick else 12.75, lr=1e-3 if quick else 1e-4)
    if quick:
        return Recipe(task=task, data=pairs, config=TrainConfig(steps=200, batch_size=8, log_every=25, sample_every=100),
                      description="SRGAN x4 (VGG22 + adversarial), small")
    config = TrainConfig(steps=200_000, batch_size=16, log_every=200, sample_every=10_000)
    phases = [Phase("lr 1e-4", 100_000), Phase("lr 1e-5", 100_000, options={"lr_scale": 0.1})]
    return Recipe(task=task, data=pairs, config=config, phases=phases, description="SRGAN x4 (VGG54 + adversarial)")
