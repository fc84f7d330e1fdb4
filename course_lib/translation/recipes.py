"""Command-line recipes of topics 04-07: ``python -m course_lib.train pix2pix|pix2pixhd|cyclegan|munit``.

The models, losses and presets live in their own modules (:mod:`.pix2pix`, :mod:`.pix2pixhd`,
:mod:`.cyclegan`, :mod:`.munit`); this module only wires each to its data and schedule.

For the paired models (pix2pix, pix2pixHD) ``--data`` chooses the data:

* nothing, ``procedural-facades``, ``procedural-edges``, ``procedural-grey``: the course's
  procedural pairs (:mod:`course_lib.data.paired`), no download;
* ``facades``, ``maps``, ``edges2shoes``, ``cityscapes``: the pix2pix data sets of
  :data:`course_lib.data.REGISTRY`, downloaded on first use and read with
  :class:`course_lib.data.PairedFolder` in the direction the paper translates them (facades and
  cityscapes: labels -> photo, ``BtoA``). facades, maps and cityscapes come from their CycleGAN
  release (A/B folders paired by name) with a pinned sha256; edges2shoes has no published
  checksum, so it is fetched over https only and its computed sha256 is printed;
* a folder: a pix2pix-style ``A|B`` data set (``train/*.jpg``) or, for pix2pixHD, the
  reference's ``train_label/ train_inst/ train_img/`` layout (Cityscapes prepared as in NVIDIA/pix2pixHD).

For the unpaired models (CycleGAN, MUNIT) ``--data`` is a procedural pair of domains, a name of
:data:`course_lib.data.REGISTRY` with the unpaired layout, or a ``trainA/ trainB/`` folder
(:func:`course_lib.data.unpaired.unpaired_dataset`).

Presets: ``quick`` (small images and networks, minutes on a CPU) and ``paper`` (the papers' sizes,
networks, batch sizes and epochs, for a GPU).
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from course_lib.train.cli import Recipe
from course_lib.train.loop import TrainConfig

PROCEDURAL = ("procedural-facades", "procedural-edges", "procedural-grey")
#: pix2pix paper (Isola et al. 2017, Sec. 6.2 / appendix): direction, batch size, epochs per data set
PAPER_SETTINGS: dict[str, tuple[str, int, int]] = {
    "facades": ("BtoA", 1, 200),      # labels -> photo, 400 images
    "cityscapes": ("BtoA", 1, 200),   # labels -> photo, 2975 images
    "maps": ("AtoB", 1, 200),         # aerial photo -> map, 1096 images
    "edges2shoes": ("AtoB", 4, 15),   # edges -> photo, 50k images
}


def _registry_folder(name: str) -> Path:
    from course_lib.data import download

    print(f"data set {name!r}: using the cached copy or downloading it (its sha256 is printed if not yet pinned)")
    # allow_unverified only reaches entries without a pinned sha256, and download() fetches those
    # over https only (never plain http), so no unchecked bytes from an open network get extracted.
    return download(name, allow_unverified=True)


def paired_data(data: str | None, size: int, jitter: bool, split: str = "train") -> tuple[Dataset, str, int, int]:
    """(dataset, description, input channels, output channels) for ``--data`` (see the module docstring)."""
    from course_lib.data import REGISTRY, PairedFolder
    from course_lib.data.paired import EdgesToShapes, GreyToColour, InMemory, ProceduralFacades

    if data in (None, "procedural-facades"):
        return InMemory(ProceduralFacades(400, size, seed=0), mirror=True), "procedural labels -> facades (400 pairs)", 3, 3
    if data == "procedural-edges":
        return EdgesToShapes(50_000, size, seed=0), "procedural edges -> shaded shapes", 1, 3
    if data == "procedural-grey":
        return GreyToColour(50_000, size, seed=0), "grey -> colour on crops of bundled photos", 1, 3
    folder = Path(data)
    if folder.is_dir():
        return PairedFolder(folder, split, "AtoB", size, jitter=jitter), f"A|B pairs from {folder}", 3, 3
    if data in PAPER_SETTINGS and data in REGISTRY:
        direction = PAPER_SETTINGS[data][0]
        root = _registry_folder(data)
        return (PairedFolder(root, split, direction, size, jitter=jitter),
                f"{REGISTRY[data].description} ({direction})", 3, 3)
    raise SystemExit(f"--data {data!r} is neither a folder nor one of: {', '.join(PROCEDURAL + tuple(PAPER_SETTINGS))}")


def pix2pix(preset: str, data: str | None = None) -> Recipe:
    """pix2pix: U-Net 256 + 70x70 PatchGAN, cGAN + 100 * L1 (paper), or a 64x64 version (quick)."""
    from course_lib.translation.pix2pix import Pix2PixTask

    if preset == "quick":
        size, num_downs, width, batch = 64, 6, 32, 4
        dataset, what, c_in, c_out = paired_data(data, size, jitter=True)
        steps = 600
    else:
        # The paper: 256x256 crops of images resized to 286 (random jitter) and mirrored.
        size, num_downs, width = 256, 8, 64
        dataset, what, c_in, c_out = paired_data(data, size, jitter=True)
        _, batch, epochs = PAPER_SETTINGS.get(str(data), ("", 1, 200))
        steps = max(1, epochs * len(dataset) // batch)  # type: ignore[arg-type]
    task = Pix2PixTask(c_in, c_out, num_downs=num_downs, ngf=width, ndf=width)
    config = TrainConfig(steps=steps, batch_size=batch, lr_decay_start=steps // 2, log_every=50 if preset == "quick" else 200,
                         sample_every=max(1, steps // 10))
    return Recipe(task=task, data=dataset, config=config,
                  description=f"pix2pix, U-Net ({num_downs} downs, ngf {width}) + PatchGAN 70x70, {size}px, {what}")


def pix2pixhd(preset: str, data: str | None = None) -> Recipe:
    """pix2pixHD: G1 then G2 (G1 fixed) then both, 3 discriminator scales, feature matching (+ VGG on paper)."""
    from course_lib.data.paired import InMemory, LabelInstanceFolder, StreetScenes
    from course_lib.translation.pix2pixhd import Pix2PixHDTask, pix2pixhd_phases

    quick = preset == "quick"
    folder = Path(data) if data is not None else None
    dataset: Dataset  # the three sources below are different Dataset classes
    if data in (None, "procedural-streets"):
        size = 64 if quick else 512
        dataset = InMemory(StreetScenes(400 if quick else 3000, size, seed=0), mirror=True) if quick else \
            StreetScenes(3000, size, seed=0)
        label_nc, use_instance, what = StreetScenes.label_nc, True, "procedural street scenes with instance maps"
        input_nc, palette = 3, StreetScenes.palette
    elif folder is not None and (folder / "train_label").is_dir():
        size_hw = (64, 128) if quick else (1024, 2048)
        dataset = labelled = LabelInstanceFolder(folder, "train", size=size_hw, flip=True)
        label_nc, use_instance, what = 35, labelled.instances is not None, f"label/instance maps from {folder}"
        input_nc, palette = 3, None
    else:
        # pix2pix-style A|B images: the condition is an image (the reference's --label_nc 0 --no_instance)
        dataset, what, input_nc, _ = paired_data(data, 64 if quick else 512, jitter=True)
        label_nc, use_instance, palette = 0, False, None
    if quick:
        task = Pix2PixHDTask(label_nc, use_instance=use_instance, ngf=8, n_downsample_global=2, n_blocks_global=3,
                             n_blocks_local=1, ndf=16, num_D=2, vgg=False, input_nc=input_nc, palette=palette)
        phases = pix2pixhd_phases(150, 100, 150)
        config = TrainConfig(batch_size=4, lr_decay_start=325, log_every=25, sample_every=100)
    else:
        # NVIDIA/pix2pixHD: 512p global run (200 epochs), then 1024p with --netG local --ngf 32 --num_D 3
        # --niter_fix_global 10 (100 epochs); the VGG loss is on by default.
        task = Pix2PixHDTask(label_nc, use_instance=use_instance, ngf=32, num_D=3, input_nc=input_nc, palette=palette)
        n = len(dataset)  # type: ignore[arg-type]
        phases = pix2pixhd_phases(200 * n, 10 * n, 90 * n)
        config = TrainConfig(batch_size=1, lr_decay_start=260 * n, log_every=200, sample_every=5 * n, num_workers=4)
    return Recipe(task=task, data=dataset, config=config, phases=phases,
                  description=f"pix2pixHD (G1 -> G2 -> joint), {what}")


def cyclegan(preset_name: str, data: str | None = None) -> Recipe:
    """CLI recipe: ``python -m course_lib.train cyclegan [--preset paper] [--data horse2zebra|FOLDER]``.

    ``data``: ``None`` or ``"seasons"`` trains on the procedural summer <-> winter scenes; a name
    from :data:`course_lib.data.REGISTRY` with the unpaired layout (``horse2zebra``,
    ``summer2winter_yosemite``, ``monet2photo``, ``apple2orange``) is downloaded (checked against
    its sha256) and read with :class:`~course_lib.data.UnpairedFolder`; any other value is a folder
    in that layout (``trainA/``, ``trainB/``). The paper preset counts 100 + 100 epochs of the
    data set's length (with random 286 -> 256 crops and flips on real data).
    """
    from course_lib.data.unpaired import unpaired_dataset
    from course_lib.translation.cyclegan import check_image_size, preset

    p = preset(preset_name)
    check_image_size(p.size, p.size, f"the {preset_name} preset's images")
    if p.size < 24:
        raise ValueError(f"the {preset_name} preset's {p.size}px images are too small for the 70x70 PatchGAN "
                         "(3 stride-2 layers need sides >= 24)")
    dataset, description = unpaired_dataset(data, size=p.size, train=True, paper=preset_name == "paper")
    steps, decay = p.steps, p.lr_decay_start
    if preset_name == "paper":
        epoch = len(dataset)
        steps, decay = 200 * epoch, 100 * epoch
    first = dataset[0]
    config = TrainConfig(steps=steps, batch_size=p.batch_size, lr_decay_start=decay,
                         log_every=max(1, min(100, steps // 20)), sample_every=max(1, steps // 10))
    task = p.task(channels_a=first["A"].shape[0], channels_b=first["B"].shape[0])
    return Recipe(task=task, data=dataset, config=config,
                  description=f"CycleGAN ResNet-{p.n_blocks} + 70x70 PatchGAN, {p.size}px, {description}")


def munit(preset_name: str, data: str | None = None) -> Recipe:
    """CLI recipe: ``python -m course_lib.train munit [--preset paper] [--data shapes|horse2zebra|FOLDER]``.

    Default data: the procedural outlines <-> textured shapes. Registry names and folders as for
    CycleGAN (:func:`course_lib.data.unpaired.unpaired_dataset`).
    """
    from course_lib.data.unpaired import unpaired_dataset
    from course_lib.translation.munit import check_image_size, preset

    p = preset(preset_name)
    check_image_size(p.size, p.size, p.n_downsample, f"the {preset_name} preset's images")
    smallest = 2 ** (p.dis_scales - 1) * 2 ** (p.dis_layers - 1) * 2
    if p.size < smallest:
        raise ValueError(f"the {preset_name} preset's {p.size}px images are too small for {p.dis_scales} "
                         f"discriminator scales of {p.dis_layers} layers (need >= {smallest} px)")
    dataset, description = unpaired_dataset(data, size=p.size, train=True, paper=preset_name == "paper",
                                            default="shapes")
    first = dataset[0]
    config = TrainConfig(steps=p.steps, batch_size=p.batch_size, log_every=max(1, min(100, p.steps // 20)),
                         sample_every=max(1, p.steps // 10))
    task = p.task(channels_a=first["A"].shape[0], channels_b=first["B"].shape[0])
    return Recipe(task=task, data=dataset, config=config,
                  description=f"MUNIT (dim {p.dim}, {p.n_downsample} downsamplings, {p.n_res} res blocks, style 8), "
                              f"{p.size}px, {description}")
