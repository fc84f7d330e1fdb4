"""The translation capstone (lecture 13): what paired data is worth, in one setting and one table.

Lectures 04-07 each train a translation method in its own world. Here they all translate the
**same held-out summer scenes to winter** (:class:`~course_lib.data.unpaired.SeasonScenes`), a
procedural world in which every summer scene has a hidden true winter counterpart (the same
layout painted snowy), so every method is scored against the truth:

* **pix2pix** (Isola et al. 2017) learns from *pairs* (summer, its own winter). It is trained on
  all the pairs of the training pool and on fractions of them (``cfg.fractions``, nested: the 1 %
  subset is part of the 10 % one), always with the same number of iterations;
* **CycleGAN** (Zhu et al. 2017) and **MUNIT** (Huang et al. 2018) learn from the same summer
  scenes and winter scenes of *other* layouts (no pair). MUNIT is multimodal: each input gets
  ``cfg.k`` translations with random style codes, scored as "random style" (the mean over the
  k draws: what one draw gives on average) and "best of k" (per image the draw closest to the
  truth: an oracle that needs the truth to choose, an upper bound for a user picking by eye);
* the **trivial baselines**: the untranslated input (identity) and the mean winter image of the
  training pool (the best constant answer in L2; no input needed).

Scores (:func:`evaluate`): fidelity to the hidden truth (L1, PSNR, SSIM on 64 held-out layouts),
realism (the course's patch distance, :func:`course_lib.metrics.sliced_wasserstein`, between the
outputs' 4x4 patches and the true winters'), diversity (mean L1 between the k outputs of one input,
:func:`course_lib.translation.munit.mean_pairwise_distance`; pix2pix's only noise is its dropout),
training time and parameters. FID and KID need an ImageNet-trained Inception network, which the
course cannot download offline; the patch distance stands in for them.

What is shared: the image size, the held-out set, the number of iterations and the batch size of
every method trained here, and one learning rate for pix2pix and CycleGAN (their papers share the
optimiser). In quick mode the CycleGAN is the course's shipped checkpoint (``pretrained.load
("cyclegan")``, lecture 06's network on this very data, trained for 1,200 iterations of 4 scenes
with this held-out set as its score), since a notebook cannot afford to train it; its budget is
printed beside the others.

Quick use (lecture 13)::

    cfg = CapstoneConfig.quick()
    result = run(cfg)
    print(format_table(result.rows))

Command line (a GPU for the gpu and full presets)::

    python -m course_lib.translation.capstone --preset gpu --out runs/translation_capstone
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from course_lib import metrics
from course_lib.data.paired import InMemory
from course_lib.data.unpaired import SeasonScenes
from course_lib.train.loop import History, TrainConfig, Trainer, TrainingTask

#: the trivial baselines, in the order of the table
BASELINES = ("identity", "mean winter")
#: the unpaired methods' rows
UNPAIRED = ("CycleGAN", "MUNIT (random style)", "MUNIT (best of k)")
#: the shipped checkpoint that fits this setting (lecture 06: SeasonScenes summer <-> winter, 32 px)
SHIPPED_CYCLEGAN = "cyclegan"
#: held-out layouts come from this seed; training from ``cfg.seed`` (0), the shipped CycleGAN's too
HELD_OUT_SEED = 1
#: the patch distance compares the patches of the first this many held-out images (all of them in
#: quick mode): sorting every 4x4 patch of 500 images of 128 px would take minutes and gigabytes
PATCH_IMAGES = 64
#: pix2pix's dropout diversity is measured on the first this many held-out images
DIVERSITY_IMAGES = 32


def pix2pix_name(fraction: float) -> str:
    """The table's name of pix2pix trained on ``fraction`` of the pairs: ``"pix2pix 10%"``."""
    return f"pix2pix {fraction * 100:g}%"


@dataclass(frozen=True)
class CapstoneConfig:
    """One setting for every method.

    Args:
        size: image side in pixels (a power of two >= 32: the U-Net halves it down to 1x1, the
            70x70 PatchGAN needs at least 24 px).
        n_pairs: training pool: pix2pix at fraction 1 uses all its pairs; the unpaired methods its
            summer scenes and as many winter scenes of other layouts.
        fractions: shares of the pool's pairs that pix2pix is trained on, each in (0, 1]; the
            subsets are nested (the first ``round(f * n_pairs)`` pairs, at least 1).
        steps: iterations of every method trained here.
        batch_size: images per iteration, for every method trained here.
        ngf: width of pix2pix's U-Net and PatchGAN and of CycleGAN's ResNet generator and PatchGAN.
        lr: Adam's learning rate for pix2pix and CycleGAN (constant for the first half, then a
            linear decay to zero, both papers' schedule).
        cyclegan_blocks: residual blocks of CycleGAN's generator (6 below 256 px, as the paper).
        munit_dim, munit_lr: MUNIT's base width and learning rate (halved after half the steps:
            the paper's step decay, compressed).
        k: random style codes per input for MUNIT (and dropout samples for pix2pix's diversity).
        n_test: held-out layouts (seed 1; 64 at 32 px are the shipped CycleGAN's own test set). The
            scores run on the CPU (SSIM and the patch distance of 64 px images take seconds per
            method and draw), so the larger presets keep this small.
        use_shipped: use the shipped CycleGAN where it fits (``size == 32``) instead of training it.
        seed: seeds the networks' initialisation and the trainer's batches.
    """

    size: int = 32
    n_pairs: int = 2000
    fractions: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    steps: int = 250
    batch_size: int = 4
    ngf: int = 16
    lr: float = 1e-3
    cyclegan_blocks: int = 6
    munit_dim: int = 16
    munit_lr: float = 1e-3
    k: int = 8
    n_test: int = 64
    use_shipped: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 32 or self.size & (self.size - 1):
            raise ValueError(f"size must be a power of two >= 32 (the U-Net halves it down to 1x1 and the "
                             f"PatchGAN needs >= 24 px), got {self.size!r}")
        for name in ("n_pairs", "steps", "batch_size", "ngf", "cyclegan_blocks", "munit_dim", "n_test"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.k, int) or self.k < 2:
            raise ValueError(f"k must be an int >= 2 (diversity compares outputs of one input), got {self.k!r}")
        if not isinstance(self.fractions, tuple) or not self.fractions:
            raise ValueError(f"fractions must be a non-empty tuple of shares in (0, 1], got {self.fractions!r}")
        for f in self.fractions:
            if not isinstance(f, (int, float)) or isinstance(f, bool) or not 0 < f <= 1:
                raise ValueError(f"every fraction must be a number in (0, 1], got {f!r} in {self.fractions}")
        if len(set(self.pair_counts())) != len(self.fractions):
            raise ValueError(f"fractions {self.fractions} give repeated pair counts {self.pair_counts()} "
                             f"with n_pairs={self.n_pairs}: use fewer fractions or more pairs")
        for name in ("lr", "munit_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ValueError(f"{name} must be a learning rate in (0, 1), got {value!r}")

    def pair_counts(self) -> list[int]:
        """Pairs pix2pix sees at each fraction: ``max(1, round(f * n_pairs))``."""
        return [max(1, round(f * self.n_pairs)) for f in self.fractions]

    @property
    def num_downs(self) -> int:
        """The U-Net's levels: down to a 1x1 bottleneck (5 at 32 px, the paper's 8 at 256 px)."""
        return int(math.log2(self.size))

    @classmethod
    def quick(cls, **changes: Any) -> CapstoneConfig:
        """About two CPU minutes: 32 px, 2,000 pairs, pix2pix at 100 / 10 / 1 / 0.1 % (2 pairs) and
        MUNIT, each 250 iterations of 4 scenes; the shipped CycleGAN."""
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def gpu(cls, **changes: Any) -> CapstoneConfig:
        """One GPU: 64 px, 5,000 pairs and six fractions down to 20 pairs, width 32, 3,000
        iterations of 8 scenes; CycleGAN trained too (the shipped one is 32 px). ``tools.estimate``
        puts it at about 4 minutes on a T4 (from FLOPs); allow a quarter of an hour."""
        return dataclasses.replace(cls(size=64, n_pairs=5_000, fractions=(1.0, 0.3, 0.1, 0.03, 0.01, 0.004),
                                       steps=3_000, batch_size=8, ngf=32, lr=2e-4, munit_dim=32, munit_lr=1e-4,
                                       n_test=64, use_shipped=False), **changes)

    @classmethod
    def full(cls, **changes: Any) -> CapstoneConfig:
        """A GPU, hours: 128 px, the papers' widths (64, CycleGAN's 9 blocks), 40,000 iterations of 4."""
        return dataclasses.replace(cls(size=128, n_pairs=20_000, fractions=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
                                       steps=40_000, batch_size=4, ngf=64, lr=2e-4, cyclegan_blocks=9, munit_dim=64,
                                       munit_lr=1e-4, n_test=128, use_shipped=False), **changes)


PRESETS: dict[str, Callable[..., CapstoneConfig]] = {
    "quick": CapstoneConfig.quick, "gpu": CapstoneConfig.gpu, "full": CapstoneConfig.full}


# ----------------------------------------------------------------------------- data
class PairSubset(Dataset):
    """The first ``n`` pairs of a pool as pix2pix batches: ``{"input": summer, "target": winter}``."""

    def __init__(self, pool: InMemory, n: int) -> None:
        if not isinstance(n, int) or not 1 <= n <= len(pool):
            raise ValueError(f"n must be an int in [1, {len(pool)}] (the pool's pairs), got {n!r}")
        self.pool, self.n = pool, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.pool[index]
        return {"input": item["A"], "target": item["B"]}


def training_pool(cfg: CapstoneConfig) -> InMemory:
    """The ``cfg.n_pairs`` training pairs (seed ``cfg.seed``): ``{"A": summer, "B": its winter}``, rendered once."""
    return InMemory(SeasonScenes(length=cfg.n_pairs, size=cfg.size, seed=cfg.seed, paired=True))


def unpaired_training_data(cfg: CapstoneConfig) -> SeasonScenes:
    """The pool's summer scenes, each with the winter of *another* layout: ``{"A", "B"}``, no pair."""
    return SeasonScenes(length=cfg.n_pairs, size=cfg.size, seed=cfg.seed, paired=False)


def held_out(cfg: CapstoneConfig) -> dict[str, torch.Tensor]:
    """``cfg.n_test`` held-out layouts (seed 1): ``{"A": summer, "B": true winter, "flowers"}``, (n, C, S, S) in [-1, 1]."""
    return SeasonScenes(length=cfg.n_test, size=cfg.size, seed=HELD_OUT_SEED, paired=True).pairs()


def mean_winter(pool: InMemory, n: int = 1000) -> torch.Tensor:
    """The mean of the pool's first ``n`` winter images, (1, 3, S, S): the best constant answer in L2.

    A thousand scenes pin the mean down to about 0.01 per pixel; more only cost rendering time.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return torch.stack([pool.item(i)["B"] for i in range(min(n, len(pool)))]).mean(0, keepdim=True)


# ----------------------------------------------------------------------------- the methods
@dataclass
class Trained:
    """One translation model and where it came from.

    ``model``: a :class:`~course_lib.translation.pix2pix.Pix2PixTask`, a CycleGAN (task or the
    shipped generators) or a :class:`~course_lib.translation.munit.MUNITTask`; ``seconds``: its
    training wall time here (for a shipped model: the CPU seconds its build took, see ``origin``);
    ``pairs``: paired examples it learnt from (0: unpaired); ``params_train``: parameters of every
    network trained (discriminators and reverse generators included).
    """

    name: str
    model: nn.Module
    seconds: float
    origin: str
    pairs: int
    params_train: int
    history: History | None = None


def count(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def _fit(task: TrainingTask, data: Dataset, cfg: CapstoneConfig, device: str | None, decay: bool = True) -> History:
    config = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed, precision="fp32",
                         lr_decay_start=cfg.steps // 2 if decay else None, log_every=max(1, min(50, cfg.steps // 6)),
                         progress=False)
    return Trainer(task, data, config, device=device).fit()


def build_pix2pix(cfg: CapstoneConfig) -> TrainingTask:
    """pix2pix's task at ``cfg``: U-Net down to 1x1, PatchGAN, cGAN + 100 L1, batch norm."""
    from course_lib.config import seed_everything
    from course_lib.translation.pix2pix import Pix2PixTask

    seed_everything(cfg.seed)
    return Pix2PixTask(num_downs=cfg.num_downs, ngf=cfg.ngf, ndf=cfg.ngf, lr=cfg.lr)


def build_cyclegan(cfg: CapstoneConfig) -> TrainingTask:
    """CycleGAN's task at ``cfg``: two ResNet generators, two PatchGANs, LSGAN + cycle + identity, pool 50."""
    from course_lib.config import seed_everything
    from course_lib.translation.cyclegan import CycleGANTask

    seed_everything(cfg.seed)
    return CycleGANTask(ngf=cfg.ngf, ndf=cfg.ngf, n_blocks=cfg.cyclegan_blocks, lr=cfg.lr)


def build_munit(cfg: CapstoneConfig) -> TrainingTask:
    """MUNIT's task at ``cfg``: lecture 07's quick architecture up to 64 px (one downsampling at
    32 px), the paper's above; width ``cfg.munit_dim``; learning rate halved after half the steps."""
    from course_lib.config import seed_everything
    from course_lib.translation import munit

    seed_everything(cfg.seed)
    if cfg.size <= 64:
        return munit.PRESETS["quick"].task(dim=cfg.munit_dim, mlp_dim=4 * cfg.munit_dim, dis_dim=cfg.munit_dim,
                                           n_downsample=1 if cfg.size <= 32 else 2, lr=cfg.munit_lr,
                                           lr_step=max(1, cfg.steps // 2))
    return munit.PRESETS["paper"].task(dim=cfg.munit_dim, dis_dim=cfg.munit_dim, lr=cfg.munit_lr,
                                       lr_step=max(1, cfg.steps // 2))


def train_pix2pix(cfg: CapstoneConfig, pool: InMemory, fraction: float, device: str | None = None) -> Trained:
    """pix2pix trained for ``cfg.steps`` iterations on the first ``fraction`` of the pool's pairs."""
    if fraction not in cfg.fractions:
        raise ValueError(f"fraction must be one of cfg.fractions {cfg.fractions}, got {fraction!r}")
    n = cfg.pair_counts()[cfg.fractions.index(fraction)]
    task = build_pix2pix(cfg)
    history = _fit(task, PairSubset(pool, n), cfg, device)
    return Trained(pix2pix_name(fraction), task, history.seconds, f"trained here: {cfg.steps} it. x {cfg.batch_size}",
                   n, count(task), history)


def train_cyclegan(cfg: CapstoneConfig, device: str | None = None) -> Trained:
    """CycleGAN trained here for ``cfg.steps`` iterations on :func:`unpaired_training_data`."""
    task = build_cyclegan(cfg)
    history = _fit(task, unpaired_training_data(cfg), cfg, device)
    return Trained("CycleGAN", task, history.seconds, f"trained here: {cfg.steps} it. x {cfg.batch_size}", 0,
                   count(task), history)


def train_munit(cfg: CapstoneConfig, device: str | None = None) -> Trained:
    """MUNIT trained here for ``cfg.steps`` iterations on :func:`unpaired_training_data`."""
    task = build_munit(cfg)
    history = _fit(task, unpaired_training_data(cfg), cfg, device, decay=False)  # MUNIT decays in steps itself
    return Trained("MUNIT", task, history.seconds, f"trained here: {cfg.steps} it. x {cfg.batch_size}", 0,
                   count(task), history)


def shipped_cyclegan(cfg: CapstoneConfig) -> Trained | None:
    """The shipped CycleGAN (lecture 06) if it fits ``cfg`` (32 px, ``use_shipped``) and is installed, else ``None``.

    Its time is the CPU seconds its build took (``pretrained.info``); its training parameters add
    the two PatchGANs it was trained with (not shipped) to its two generators.
    """
    from course_lib import pretrained
    from course_lib.pretrained.unpaired_specs import CG_BLOCKS, CG_NGF, CG_SIZE
    from course_lib.translation.cyclegan import CycleGANTask

    if not cfg.use_shipped or cfg.size != CG_SIZE or SHIPPED_CYCLEGAN not in pretrained.available():
        return None
    info = pretrained.info(SHIPPED_CYCLEGAN)
    model = pretrained.load(SHIPPED_CYCLEGAN)
    trained_with = count(CycleGANTask(ngf=CG_NGF, ndf=CG_NGF, n_blocks=CG_BLOCKS))
    return Trained("CycleGAN", model, float(info["cpu_s"]),
                   f"shipped: {info['steps']} it. x {info['batch_size']}", 0, trained_with)


def train_all(cfg: CapstoneConfig, device: str | None = None, log: Callable[[str], None] | None = print,
              pool: InMemory | None = None) -> dict[str, Trained]:
    """pix2pix at every fraction, CycleGAN (shipped where it fits, else trained) and MUNIT, in table order."""
    pool = pool if pool is not None else training_pool(cfg)
    out: dict[str, Trained] = {}
    for fraction in cfg.fractions:
        out[pix2pix_name(fraction)] = train_pix2pix(cfg, pool, fraction, device)
    out["CycleGAN"] = shipped_cyclegan(cfg) or train_cyclegan(cfg, device)
    out["MUNIT"] = train_munit(cfg, device)
    if log is not None:
        for name, t in out.items():
            log(f"{name:<16} {t.origin:<28} {t.seconds:6.1f} s, pairs {t.pairs:>6,}")
    return out


# ----------------------------------------------------------------------------- scoring
@dataclass
class Row:
    """One method's line of the table. Fidelity (L1, PSNR, SSIM) is a mean over the held-out images,
    realism (patch distance) is measured on the first :data:`PATCH_IMAGES` of them (both averaged
    over the k draws for MUNIT's random style); ``outputs`` (N, 3, S, S) in [-1, 1] are the images
    shown in the figures."""

    name: str
    l1: float
    psnr: float
    ssim: float
    patch: float
    diversity: float | None
    seconds: float | None
    params_test: int
    params_train: int
    pairs: int | None
    origin: str
    outputs: torch.Tensor = field(repr=False)
    per_image_l1: torch.Tensor = field(repr=False)


def _fidelity(outputs: torch.Tensor, truth: torch.Tensor) -> dict[str, Any]:
    outputs = outputs.clamp(-1, 1)
    per = metrics.l1(outputs, truth)
    return {"l1": float(per.mean()), "psnr": float(metrics.psnr(outputs, truth, (-1, 1)).mean()),
            "ssim": float(metrics.ssim(outputs, truth, (-1, 1)).mean()),
            "patch": metrics.sliced_wasserstein(outputs[:PATCH_IMAGES], truth[:PATCH_IMAGES]), "per_image_l1": per}


def _row(name: str, outputs: torch.Tensor, truth: torch.Tensor, **extra: Any) -> Row:
    f = _fidelity(outputs, truth)
    return Row(name=name, l1=f["l1"], psnr=f["psnr"], ssim=f["ssim"], patch=f["patch"], outputs=outputs.clamp(-1, 1),
               per_image_l1=f["per_image_l1"], **extra)


def translator(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Summer -> winter of a trained pix2pix or CycleGAN: (N, 3, S, S) -> (N, 3, S, S), both in [-1, 1].

    pix2pix runs with its test protocol (lecture 04: dropout on, batch-norm statistics of the test
    batch), one image per batch as in the paper.
    """
    from course_lib.translation.pix2pix import Pix2PixTask, translate

    if isinstance(model, Pix2PixTask):
        return lambda x: translate(model.G, x)
    if hasattr(model, "translate"):
        translate_ab = cast(Callable[[torch.Tensor, str], torch.Tensor], model.translate)  # a method, not a submodule
        return lambda x: translate_ab(x, "AtoB")
    raise TypeError(f"translator: expected a Pix2PixTask or a CycleGAN (with .translate), got {type(model).__name__}")


def _test_params(model: nn.Module) -> int:
    """Parameters used to translate summer -> winter: pix2pix's G, CycleGAN's G_AB, MUNIT's A content encoder + B decoder."""
    from course_lib.translation.munit import MUNITTask

    if isinstance(model, MUNITTask):
        return count(model.gen_a.enc_content) + count(model.gen_b.dec) + count(model.gen_b.mlp)
    if hasattr(model, "G_AB"):
        return count(model.get_submodule("G_AB"))
    if hasattr(model, "G"):
        return count(model.get_submodule("G"))
    raise TypeError(f"no summer -> winter generator in a {type(model).__name__}")


@torch.no_grad()
def evaluate(trained: Mapping[str, Trained], held: Mapping[str, torch.Tensor], mean_image: torch.Tensor,
             k: int = 8, seed: int = 0) -> dict[str, Row]:
    """Every row of the table: the baselines, then ``trained`` in order (MUNIT gives two rows).

    ``held``: :func:`held_out`; ``mean_image``: :func:`mean_winter`. Models run on their own
    device; outputs and scores are on the CPU. MUNIT's ``k`` style codes are drawn from N(0, I)
    with ``seed`` and shared by all inputs (column j of the draws uses style j).
    """
    from course_lib.translation.munit import MUNITTask, mean_pairwise_distance
    from course_lib.translation.pix2pix import Pix2PixTask, translate

    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an int >= 2, got {k!r}")
    if mean_image.dim() != 4 or mean_image.shape[0] != 1 or mean_image.shape[1:] != held["B"].shape[1:]:
        raise ValueError(f"mean_image must be (1, {', '.join(map(str, held['B'].shape[1:]))}), "
                         f"got {tuple(mean_image.shape)}")
    x, truth = held["A"], held["B"]
    rows = {
        "identity": _row("identity", x, truth, diversity=None, seconds=0.0, params_test=0, params_train=0,
                         pairs=None, origin="the input, untranslated"),
        "mean winter": _row("mean winter", mean_image.expand_as(truth), truth, diversity=None, seconds=0.0,
                            params_test=0, params_train=0, pairs=None, origin="mean of the pool's winters"),
    }
    diversity: float | None
    for name, t in trained.items():
        device = next(t.model.parameters()).device
        common = dict(seconds=t.seconds, params_test=_test_params(t.model), params_train=t.params_train,
                      pairs=t.pairs, origin=t.origin)
        if isinstance(t.model, MUNITTask):
            draws = t.model.multimodal(x.to(device), k, "AtoB", generator=torch.Generator().manual_seed(seed))
            draws = draws.float().cpu().clamp(-1, 1)  # (N, k, 3, S, S)
            per_draw = [_fidelity(draws[:, j], truth) for j in range(k)]
            diversity = mean_pairwise_distance(draws)
            random = _row("MUNIT (random style)", draws[:, 0], truth, diversity=diversity, **common)
            for key in ("l1", "psnr", "ssim", "patch"):  # the expected score of one random draw
                setattr(random, key, sum(d[key] for d in per_draw) / k)
            per_image = torch.stack([d["per_image_l1"] for d in per_draw], 1)  # (N, k)
            best = draws[torch.arange(len(x)), per_image.argmin(1)]
            rows["MUNIT (random style)"] = random
            rows["MUNIT (best of k)"] = _row("MUNIT (best of k)", best, truth, diversity=diversity, **common)
            continue
        outputs = translator(t.model)(x.to(device)).float().cpu()
        diversity = None
        if isinstance(t.model, Pix2PixTask):  # dropout is pix2pix's only noise (paper Sec. 2.1)
            if any(isinstance(m, nn.Dropout) for m in t.model.G.modules()):
                few = x[:DIVERSITY_IMAGES].to(device)
                samples = torch.stack([translate(t.model.G, few).float().cpu() for _ in range(k)], 1)
                diversity = mean_pairwise_distance(samples.clamp(-1, 1))
            else:  # a shallow U-Net has no dropout layer: the test protocol is deterministic
                diversity = 0.0
        rows[name] = _row(name, outputs, truth, diversity=diversity, **common)
    return rows


def assert_beats_identity(rows: Mapping[str, Row], metric: str = "l1") -> None:
    """Every method (each row but the baselines) is closer to the hidden truth than the untranslated input."""
    if metric not in ("l1", "psnr", "ssim"):
        raise ValueError(f"metric must be 'l1', 'psnr' or 'ssim', got {metric!r}")
    if "identity" not in rows:
        raise KeyError("rows has no 'identity' row: evaluate() adds it")
    base = getattr(rows["identity"], metric)
    for name, row in rows.items():
        if name in BASELINES:
            continue
        value = getattr(row, metric)
        if not (value < base if metric == "l1" else value > base):
            raise AssertionError(f"{name} does not beat the identity on the hidden truth in {metric}: "
                                 f"{value:.4f} vs {base:.4f}")


def fraction_points(rows: Mapping[str, Row], cfg: CapstoneConfig, metric: str = "l1") -> list[tuple[float, float]]:
    """(fraction, score) of pix2pix at each of ``cfg.fractions`` that ``rows`` holds, by increasing fraction."""
    return sorted((f, getattr(rows[pix2pix_name(f)], metric)) for f in cfg.fractions if pix2pix_name(f) in rows)


def break_even(points: Sequence[tuple[float, float]], level: float) -> float | None:
    """The fraction of pairs at which pix2pix's L1 curve crosses ``level`` (an unpaired method's L1).

    ``points``: (fraction, L1) by increasing fraction (:func:`fraction_points`). Interpolates
    linearly in log(fraction) between the first two neighbouring points on either side of
    ``level``; ``None`` if the curve never crosses it (all points above, or all below).
    """
    pts = sorted(points)
    if len(pts) < 2:
        raise ValueError(f"need at least two (fraction, L1) points, got {len(pts)}")
    for (f0, v0), (f1, v1) in zip(pts, pts[1:]):
        if (v0 - level) * (v1 - level) <= 0 and v0 != v1:
            t = (v0 - level) / (v0 - v1)
            return float(math.exp(math.log(f0) + t * (math.log(f1) - math.log(f0))))
    return None


# ----------------------------------------------------------------------------- the table
COLUMNS = ("method", "pairs", "L1", "PSNR", "SSIM", "patch dist", "diversity", "train s", "params (test)",
           "params (trained)", "weights")


def table_rows(rows: Mapping[str, Row]) -> list[dict[str, str]]:
    """The table as strings, one dict per method with the keys :data:`COLUMNS`."""
    out = []
    for name, r in rows.items():
        out.append({"method": name, "pairs": "-" if r.pairs is None else f"{r.pairs:,}", "L1": f"{r.l1:.4f}",
                    "PSNR": f"{r.psnr:.2f}", "SSIM": f"{r.ssim:.3f}", "patch dist": f"{r.patch:.4f}",
                    "diversity": "-" if r.diversity is None else f"{r.diversity:.4f}",
                    "train s": "-" if not r.seconds else f"{r.seconds:.1f}" if r.seconds < 10 else f"{r.seconds:.0f}",
                    "params (test)": f"{r.params_test:,}", "params (trained)": f"{r.params_train:,}",
                    "weights": r.origin})
    return out


def format_table(rows: Mapping[str, Row]) -> str:
    """A plain-text table of :func:`evaluate`'s rows (L1 lower, PSNR / SSIM higher, patch distance lower is better)."""
    lines_ = table_rows(rows)
    widths = {c: max(len(c), *(len(r[c]) for r in lines_)) for c in COLUMNS}
    head = "  ".join(c.ljust(widths[c]) if c in ("method", "weights") else c.rjust(widths[c]) for c in COLUMNS)
    body = ["  ".join(r[c].ljust(widths[c]) if c in ("method", "weights") else r[c].rjust(widths[c]) for c in COLUMNS)
            for r in lines_]
    return "\n".join([head, "-" * len(head), *body])


def markdown_table(rows: Mapping[str, Row]) -> str:
    """The same table in Markdown."""
    lines_ = table_rows(rows)
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(" --- " for _ in COLUMNS) + "|"]
    out += ["| " + " | ".join(r[c] for c in COLUMNS) + " |" for r in lines_]
    return "\n".join(out)


def write_csv(rows: Mapping[str, Row], path: str | Path) -> None:
    """The table as CSV (numbers unrounded)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "pairs", "l1", "psnr", "ssim", "patch", "diversity", "train_s", "params_test",
                         "params_train", "weights"])
        for r in rows.values():
            writer.writerow([r.name, "" if r.pairs is None else r.pairs, r.l1, r.psnr, r.ssim, r.patch,
                             "" if r.diversity is None else r.diversity, r.seconds, r.params_test, r.params_train,
                             r.origin])


# ----------------------------------------------------------------------------- the figures
#: horizontal lines of the fraction curve: row name -> (colour, line style)
LINES = {"CycleGAN": ("tab:orange", "-"), "MUNIT (random style)": ("tab:green", "--"),
         "MUNIT (best of k)": ("tab:green", ":"), "mean winter": ("grey", "-."), "identity": ("black", ":")}


def fraction_curve(rows: Mapping[str, Row], cfg: CapstoneConfig, metric: str = "l1", ax: Any = None) -> Any:
    """L1 (or ``metric``) of pix2pix against the fraction of pairs (log axis), with the unpaired
    methods and the baselines as horizontal lines. A line far above the others (the identity) is
    written in the legend instead of squashing the plot. Returns the figure."""
    import matplotlib.pyplot as plt

    if metric not in ("l1", "psnr", "ssim"):
        raise ValueError(f"metric must be 'l1', 'psnr' or 'ssim', got {metric!r}")
    pts = fraction_points(rows, cfg, metric)
    if not pts:
        raise ValueError("rows holds no pix2pix row of cfg.fractions: evaluate the trained pix2pix models first")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
    else:
        fig = ax.figure
    fr, vals = zip(*pts)
    counts = [max(1, round(f * cfg.n_pairs)) for f in fr]
    ax.plot(fr, vals, "o-", color="tab:blue", lw=2, label="pix2pix (paired)")
    for f, v, n in zip(fr, vals, counts):
        ax.annotate(f"{n:,} pairs", (f, v), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    shown = list(vals)
    lines = [n for n in LINES if n in rows]
    others = [getattr(rows[n], metric) for n in lines if n != "identity"]
    span = (max(shown + others) - min(shown + others)) or 1.0
    for name in lines:
        v = getattr(rows[name], metric)
        colour, style = LINES[name]
        off_chart = metric == "l1" and name == "identity" and v > max(shown + others) + span
        if off_chart:
            ax.plot([], [], color=colour, ls=style, label=f"{name}: {v:.3f} (off the chart)")
            continue
        ax.axhline(v, color=colour, ls=style, lw=1.5, label=f"{name} (unpaired)" if name in UNPAIRED else name)
        shown.append(v)
    ax.set_xscale("log")
    ax.set_xlim(min(fr) / 2, 2)
    ax.set_xlabel(f"fraction of the {cfg.n_pairs:,} training pairs used by pix2pix (log scale)")
    ax.set_ylabel({"l1": "L1 to the hidden truth (lower is better)", "psnr": "PSNR (dB, higher is better)",
                   "ssim": "SSIM (higher is better)"}[metric])
    ax.set_title(f"What pairing buys: summer -> winter, {cfg.size} px, {rows['identity'].per_image_l1.numel()} "
                 "held-out scenes")
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def sample_grid(rows: Mapping[str, Row], held: Mapping[str, torch.Tensor], indices: Sequence[int] = (0, 1, 2),
                names: Sequence[str] | None = None, panel_px: int = 96, inches: float = 1.45) -> Any:
    """Input | each method | truth for some held-out scenes, every panel upscaled to at least
    ``panel_px`` (>= 64) pixels with nearest neighbours, titled with its method and that image's L1."""
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    from course_lib.viz import to_numpy_image

    if not isinstance(panel_px, int) or panel_px < 64:
        raise ValueError(f"panel_px must be an int >= 64 (legible panels), got {panel_px!r}")
    names = [n for n in rows if n != "identity"] if names is None else list(names)
    unknown = [n for n in names if n not in rows]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; rows holds {list(rows)}")
    n_test = held["A"].shape[0]
    bad = [i for i in indices if not 0 <= i < n_test]
    if bad:
        raise ValueError(f"indices {bad} are outside the {n_test} held-out images")
    factor = max(1, math.ceil(panel_px / held["A"].shape[-1]))

    def big(img: torch.Tensor) -> torch.Tensor:
        return F.interpolate(img[None].float(), scale_factor=factor, mode="nearest")[0]

    ncols = len(names) + 2
    fig, axes = plt.subplots(len(indices), ncols, figsize=(inches * ncols, (inches + 0.4) * len(indices)),
                             squeeze=False)
    for r, i in enumerate(indices):
        panels = [("input (summer)", held["A"][i])]
        panels += [(f"{n}\nL1 {float(rows[n].per_image_l1[i]):.3f}", rows[n].outputs[i]) for n in names]
        panels.append(("true winter", held["B"][i]))
        for c, (title, img) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(to_numpy_image(big(img), (-1, 1)), interpolation="nearest")
            ax.set_title(title, fontsize=7.5)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"scene #{i}", fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- everything at once
@dataclass
class Result:
    """What :func:`run` returns: the config, the table's rows, the held-out set and the models."""

    cfg: CapstoneConfig
    rows: dict[str, Row]
    held: dict[str, torch.Tensor]
    trained: dict[str, Trained]
    seconds: float


def run(cfg: CapstoneConfig, device: str | None = None, log: Callable[[str], None] | None = print) -> Result:
    """Train (or load) every method, then score all of them on the held-out set (:func:`evaluate`)."""
    if not isinstance(cfg, CapstoneConfig):
        raise TypeError(f"cfg must be a CapstoneConfig (e.g. CapstoneConfig.quick()), got {type(cfg).__name__}")
    start = time.perf_counter()
    pool = training_pool(cfg)
    trained = train_all(cfg, device=device, log=log, pool=pool)
    held = held_out(cfg)
    rows = evaluate(trained, held, mean_winter(pool), k=cfg.k, seed=cfg.seed)
    return Result(cfg, rows, held, trained, time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_lib.translation.capstone``: train and score every method, write the table and figures."""
    from course_lib.train.cli import plain_description

    parser = argparse.ArgumentParser(prog="python -m course_lib.translation.capstone",
                                     description=plain_description(__doc__))
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                        help="quick: minutes on a CPU; the others need a GPU (see the module docstring)")
    parser.add_argument("--out", default="runs/translation_capstone", help="table.csv, table.md and figures go here")
    parser.add_argument("--steps", type=int, default=None, help="iterations per method (default: the preset's)")
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help="shares of the pairs for pix2pix, each in (0, 1] (default: the preset's)")
    parser.add_argument("--n-pairs", type=int, default=None, help="training pairs in the pool (default: the preset's)")
    parser.add_argument("--n-test", type=int, default=None, help="held-out scenes (default: the preset's)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    args = parser.parse_args(argv)
    changes: dict[str, Any] = {}
    for key in ("steps", "n_pairs", "n_test"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    if args.fractions is not None:
        changes["fractions"] = tuple(args.fractions)
    try:
        cfg = PRESETS[args.preset](**changes)
    except ValueError as err:
        parser.error(str(err))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(cfg)
    result = run(cfg, device=args.device)
    text = format_table(result.rows)
    print(text)
    write_csv(result.rows, out / "table.csv")
    (out / "table.md").write_text(markdown_table(result.rows) + "\n")
    fraction_curve(result.rows, cfg).savefig(out / "fraction_curve.png", dpi=120)
    sample_grid(result.rows, result.held, indices=tuple(range(min(4, cfg.n_test)))).savefig(out / "samples.png", dpi=120)
    print(f"wrote {out / 'table.csv'}, {out / 'table.md'}, {out / 'fraction_curve.png'}, {out / 'samples.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
