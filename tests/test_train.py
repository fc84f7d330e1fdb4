"""The training loop: exact resume, budgets, phases, checkpoints that survive failures."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from course_lib.data import Blobs, ProceduralDataset, SmoothFieldHoles
from course_lib.losses import discriminator_loss, generator_loss
from course_lib.nn import ContextNet
from course_lib.train import (
    Phase,
    Precision,
    SeededItems,
    StepSampler,
    SupervisedTask,
    TrainConfig,
    Trainer,
    TrainingTask,
    linear_decay,
    load_checkpoint,
    save_checkpoint,
    select_device,
)


class JitteredBlobs(ProceduralDataset):
    """Blobs with random flips and noise drawn from torch's RNG (the augmentation path)."""

    def generate(self, index, rng):
        x = Blobs(self.length, 16, self.seed)[index]
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x + 0.01 * torch.randn_like(x)


class DropoutGAN(TrainingTask):
    """A small GAN with dropout and batch norm: every source of randomness a resume must restore."""

    def __init__(self):
        super().__init__()
        self.G = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                               nn.Conv2d(8, 3, 3, padding=1), nn.Tanh())
        self.D = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 2, 1))

    def configure_optimizers(self):
        return {"D": torch.optim.Adam(self.D.parameters(), 1e-3, betas=(0.5, 0.999)),
                "G": torch.optim.Adam(self.G.parameters(), 1e-3, betas=(0.5, 0.999))}

    def forward_step(self, real, phase):
        return {"fake": self.G(torch.randn_like(real))}

    def update_loss(self, name, real, out, phase):
        if name == "D":
            return {"loss": 0.5 * discriminator_loss(self.D(real), self.D(out["fake"].detach())),
                    "real_score": self.D(real).mean()}
        return {"loss": generator_loss(self.D(out["fake"]))}

    def sample(self, batch):
        return self.G(torch.zeros_like(batch))


def run(steps, path=None, resume=False, until=None, **cfg):
    torch.manual_seed(0)
    task = DropoutGAN()
    config = TrainConfig(steps=steps, batch_size=4, log_every=3, progress=False,
                         checkpoint_path=str(path) if path else None, lr_decay_start=5, **cfg)
    trainer = Trainer(task, JitteredBlobs(64, seed=0), config)
    trainer.fit(resume=resume, until=until)
    return task, trainer


def test_resume_is_bit_identical(tmp_path):
    """N steps straight == N/2 steps, save, a new trainer loads, N/2 steps (dropout, BN, augmentation, LR decay)."""
    straight, t1 = run(12)
    _, half = run(12, tmp_path / "ck.pt", until=6)
    assert half.step == 6 and half.history.stopped_by == "until"
    resumed, t2 = run(12, tmp_path / "ck.pt", resume=True)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert t1.history.values == t2.history.values
    assert t2.step == 12


def test_resume_is_exact_with_worker_processes(tmp_path):
    straight, _ = run(8, num_workers=2)
    run(8, tmp_path / "ck.pt", until=4, num_workers=2)
    resumed, _ = run(8, tmp_path / "ck.pt", resume=True, num_workers=2)
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))


def test_linear_decay_reaches_zero_at_the_end():
    rule = linear_decay(10, 4)
    assert [rule(s) for s in (0, 4, 7, 10)] == [1.0, 1.0, 0.5, 0.0]
    _, trainer = run(10)
    assert trainer.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_history_logs_every_update_and_phase():
    _, trainer = run(7)
    h = trainer.history
    assert h.step == [3, 6, 7] and set(h.values) == {"D/loss", "D/real_score", "G/loss"}
    assert h.value_steps["G/loss"] == [3, 6, 7] and h.stopped_by == "steps"
    with pytest.raises(KeyError, match="never logged"):
        h.last("nothing")


def test_phases_run_only_their_updates():
    torch.manual_seed(0)
    task = DropoutGAN()
    phases = [Phase("G only", 3, ("G",)), Phase("D only", 2, ("D",)), Phase("both", 2)]
    trainer = Trainer(task, JitteredBlobs(16), TrainConfig(batch_size=2, log_every=1, progress=False), phases=phases)
    d_before = [p.clone() for p in task.D.parameters()]
    g_before = [p.clone() for p in task.G.parameters()]
    trainer.fit()
    h = trainer.history
    assert h.value_steps["G/loss"] == [1, 2, 3, 6, 7] and h.value_steps["D/loss"] == [4, 5, 6, 7]
    assert h.phase == ["G only"] * 3 + ["D only"] * 2 + ["both"] * 2
    assert all(not torch.equal(a, b) for a, b in zip(d_before, task.D.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(g_before, task.G.parameters()))
    with pytest.raises(ValueError, match="names updates"):
        Trainer(task, JitteredBlobs(16), phases=[Phase("x", 1, ("E",))])


def test_skipped_optimizers_keep_the_global_learning_rate_schedule_without_warnings():
    import warnings

    torch.manual_seed(0)
    task = DropoutGAN()
    phases = [Phase("G only", 3, ("G",)), Phase("both", 3)]
    config = TrainConfig(batch_size=2, log_every=1, progress=False, lr_decay_start=2)
    trainer = Trainer(task, JitteredBlobs(16), config, phases=phases)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch's "lr_scheduler.step() before optimizer.step()" would raise
        trainer.fit()
    lrs = {k: [g["lr"] for g in o.param_groups][0] for k, o in trainer.optimizers.items()}
    assert lrs["G"] == pytest.approx(lrs["D"]) and lrs["G"] < 1e-3  # D's decay ticked while it sat out


def test_time_budget_stops_early_and_saves(tmp_path, capsys):
    task, trainer = run(10_000, tmp_path / "ck.pt", time_budget_s=0.5)
    assert 0 < trainer.step < 10_000 and trainer.history.stopped_by == "time budget"
    assert load_checkpoint(tmp_path / "ck.pt")["step"] == trainer.step
    assert "Call fit() again to continue" in capsys.readouterr().out


def test_interrupt_saves_a_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = DropoutGAN.update_loss

    def interrupting(self, name, real, out, phase):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return original(self, name, real, out, phase)

    monkeypatch.setattr(DropoutGAN, "update_loss", interrupting)
    _, trainer = run(50, tmp_path / "ck.pt")
    assert trainer.history.stopped_by == "interrupted" and trainer.step == 3
    assert load_checkpoint(tmp_path / "ck.pt")["step"] == 3


def test_nan_loss_is_reported_with_advice():
    task = SupervisedTask(nn.Conv2d(3, 3, 1), lambda pred, b: pred.mean() * float("nan"), inputs=("x",))
    data = [{"x": torch.zeros(3, 4, 4)}] * 4
    with pytest.raises(FloatingPointError, match="Lower the learning rate"):
        Trainer(task, data, TrainConfig(steps=2, log_every=1, progress=False)).fit()


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint({"weights": torch.ones(3)}, path)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"weights": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_bad_checkpoints_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt or was not written by course_lib"):
        load_checkpoint(tmp_path / "corrupt.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="not a course_lib checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_checkpoints_load_with_weights_only(tmp_path):
    _, trainer = run(3, tmp_path / "ck.pt")
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["step"] == 3 and "rng" in state and "optimizers" in state


def test_sampler_stream_is_a_function_of_seed_and_step():
    full = StepSampler(10, 3, seed=1)
    stream = [next(it) for it in [iter(full)] for _ in range(15)]
    later = StepSampler(10, 3, seed=1, start_step=2)
    assert [next(it) for it in [iter(later)] for _ in range(9)] == stream[6:15]
    # Two ranks of batch 3 split each global batch of 6.
    r0 = iter(StepSampler(10, 3, seed=1, rank=0, world_size=2))
    r1 = iter(StepSampler(10, 3, seed=1, rank=1, world_size=2))
    glob = iter(StepSampler(10, 6, seed=1))
    g = [next(glob) for _ in range(12)]
    assert [next(r0) for _ in range(6)] == g[0:3] + g[6:9]
    assert [next(r1) for _ in range(6)] == g[3:6] + g[9:12]
    with pytest.raises(ValueError, match="dataset is empty"):
        StepSampler(0, 2)


def test_seeded_items_leave_the_global_rng_alone():
    items = SeededItems(JitteredBlobs(8))
    torch.manual_seed(5)
    before = torch.get_rng_state()
    a, b = items[(3, 42)], items[(3, 42)]
    assert torch.equal(a, b) and torch.equal(before, torch.get_rng_state())


def test_precision_is_a_no_op_on_cpu_and_devices_are_checked():
    prec = Precision(torch.device("cpu"))
    assert prec.name == "fp32" and not prec.enabled and not prec.scaler.is_enabled()
    assert Precision(torch.device("cpu"), "bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="not supported on CPU"):
        Precision(torch.device("cpu"), "fp16")
    with pytest.raises(ValueError, match="precision must be"):
        Precision(torch.device("cpu"), "fp8")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            select_device("cuda")


def test_config_and_task_validation():
    with pytest.raises(ValueError, match="TrainConfig.batch_size must be a positive int"):
        TrainConfig(batch_size=0)
    with pytest.raises(TypeError, match="must be a course_lib.train.TrainingTask"):
        Trainer(nn.Linear(2, 2), [1, 2])
    with pytest.raises(ValueError, match="steps must be >= 0"):
        Phase("p", -1)


def test_supervised_learning_beats_the_untrained_model():
    """Learning test: the lecture-01 hole filler reduces its hole error within seconds."""
    torch.manual_seed(0)
    data = SmoothFieldHoles(200, size=24, hole=8)
    model = ContextNet(12, (1, 2, 4))

    def hole_mse(pred, b):
        return ((pred - b["image"]) ** 2 * b["mask"]).sum() / (3 * b["mask"].sum())

    batch = torch.utils.data.default_collate([data[i] for i in range(16)])
    with torch.no_grad():
        before = hole_mse(model(batch["image"], batch["mask"]), batch)
    Trainer(SupervisedTask(model, hole_mse, inputs=("image", "mask"), lr=2e-3), data,
            TrainConfig(steps=300, batch_size=8, progress=False)).fit()
    with torch.no_grad():
        after = hole_mse(model(batch["image"], batch["mask"]), batch)
    assert after < 0.1 * before


def test_cli_trains_resumes_and_writes_a_run_folder(tmp_path):
    cmd = [sys.executable, "-m", "course_lib.train", "tinygan", "--steps", "6", "--batch-size", "4",
           "--out", str(tmp_path / "run")]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    cmd[cmd.index("6")] = "10"
    second = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stdout and "step 10/10" in second.stdout
    run_dir = Path(tmp_path / "run")
    assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "history.csv").is_file()
    assert list((run_dir / "samples").glob("*.png"))
    listing = subprocess.run([sys.executable, "-m", "course_lib.train", "--list"], capture_output=True, text=True)
    assert "tinygan" in listing.stdout


def test_cpu_bf16_is_chosen_for_long_cpu_runs_only_with_amx(monkeypatch):
    from course_lib.train import device as devmod

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(devmod, "cpu_info", lambda: ("Intel Xeon", frozenset({"avx2", "amx_bf16", "avx512_bf16"})))
    assert devmod.cpu_bf16_matmul() == "amx_bf16"
    assert devmod.cpu_precision_for_long_runs(None, cpu) == "bf16"
    assert devmod.cpu_precision_for_long_runs("auto", cpu) == "bf16"
    assert devmod.cpu_precision_for_long_runs("fp32", cpu) == "fp32"  # an explicit choice wins
    assert devmod.cpu_precision_for_long_runs(None, cuda) is None  # GPUs: the Trainer's own auto
    monkeypatch.setattr(devmod, "cpu_info", lambda: ("AMD EPYC", frozenset({"avx2", "avx512_bf16"})))
    assert devmod.cpu_bf16_matmul() == "avx512_bf16" and devmod.cpu_precision_for_long_runs(None, cpu) is None
    monkeypatch.setattr(devmod, "cpu_info", lambda: ("AMD EPYC", frozenset({"avx2"})))
    assert devmod.cpu_bf16_matmul() is None and devmod.cpu_precision_for_long_runs("auto", cpu) == "auto"
    # the Trainer's own "auto" never turns bf16 on for a CPU: quick mode stays exact
    assert devmod.resolve_precision("auto", cpu) == "fp32"


def test_cli_paper_preset_uses_bf16_on_an_amx_cpu(monkeypatch, tmp_path, capsys):
    from course_lib.train import cli
    from course_lib.train import device as devmod

    seen = {}

    class Stop(Exception):
        pass

    def fake_trainer(task, data, config, **kwargs):
        seen["precision"] = config.precision
        raise Stop

    monkeypatch.setattr(devmod, "cpu_info", lambda: ("Intel Xeon", frozenset({"amx_bf16"})))
    monkeypatch.setattr(cli, "Trainer", fake_trainer)
    with pytest.raises(Stop):
        cli.main(["tinygan", "--preset", "paper", "--out", str(tmp_path / "a")])
    assert seen["precision"] == "bf16" and "amx_bf16 units" in capsys.readouterr().out
    with pytest.raises(Stop):
        cli.main(["tinygan", "--preset", "quick", "--out", str(tmp_path / "b")])
    assert seen["precision"] == "auto"  # quick runs stay fp32 (the Trainer's auto on a CPU)
    with pytest.raises(Stop):
        cli.main(["tinygan", "--preset", "paper", "--precision", "fp32", "--out", str(tmp_path / "c")])
    assert seen["precision"] == "fp32"


def test_command_lines_are_installed_documented_and_list_recipes_in_one_line_each():
    import argparse
    import importlib

    import tomllib

    from course_lib.train import cli

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) >= {"course-train", "course-grade", "course-weights"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target
    parser = cli.build_parser()
    assert "``" not in parser.description
    undocumented = [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not undocumented, f"CLI options without help text: {undocumented}"
    lines = cli.listing().splitlines()
    assert len(lines) == len(cli.RECIPES) and all(" lecture " in line for line in lines)
    assert set(cli.ABOUT) == set(cli.RECIPES), "every recipe needs its one-line description in cli.ABOUT"
    assert (Path(cli.__file__).parents[1] / "py.typed").is_file()


def test_every_recipe_lives_in_its_topics_recipes_module():
    """One home per topic: ``course_lib/<topic>/recipes.py`` holds all of that topic's CLI recipes."""
    import ast
    import importlib

    from course_lib.train import cli

    root = Path(cli.__file__).parents[1]
    for name, target in cli.RECIPES.items():
        module, _, func = target.partition(":")
        package, _, leaf = module.rpartition(".")
        assert leaf == "recipes" and package.count(".") == 1 and package.startswith("course_lib."), \
            f"recipe {name!r} -> {target}: put it in course_lib/<topic>/recipes.py"
        assert (root / package.split(".")[1] / "__init__.py").is_file(), f"{package} is not a course_lib package"
        assert callable(getattr(importlib.import_module(module), func)), target
    # and no recipe hides elsewhere: only the recipes modules (and the trainer itself) build a Recipe
    builders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "recipes.py" or path.relative_to(root).as_posix() in ("train/cli.py", "train/bench.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "Recipe" for alias in node.names):
                builders.append(path.relative_to(root).as_posix())
    assert not builders, f"these modules build CLI recipes outside a recipes.py: {builders}"


def test_cli_tensorboard_log_holds_the_history_numbers(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="tensorboard is in the dev extra; `pip install tensorboard`")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from course_lib.train import cli

    out = tmp_path / "run"
    assert cli.main(["tinygan", "--steps", "8", "--batch-size", "4", "--log-every", "2", "--out", str(out),
                     "--tensorboard"]) == 0
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    rows = list(csv.DictReader(open(out / "history.csv")))
    for name in ("G/loss", "D/loss"):
        logged = [(e.step, e.value) for e in events.Scalars(name)]
        expected = [(int(r["step"]), float(r["value"])) for r in rows if r["key"] == name]
        assert [s for s, _ in logged] == [s for s, _ in expected] == [2, 4, 6, 8]
        assert [v for _, v in logged] == pytest.approx([v for _, v in expected], rel=1e-5)


def test_cli_tensorboard_without_the_package_says_how_to_install_it(tmp_path, monkeypatch):
    from course_lib.train import cli

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    with pytest.raises(SystemExit, match="pip install tensorboard"):
        cli.main(["tinygan", "--steps", "2", "--out", str(tmp_path / "run"), "--tensorboard"])


#: every ``python -m`` entry point of the library (the console scripts point at three of them)
CLI_MODULES = ("course_lib.train.cli", "course_lib.train.bench", "course_lib.grade.__main__",
               "course_lib.pretrained.__main__", "course_lib.standard_metrics", "course_lib.style.vgg",
               "course_lib.translation.capstone", "course_lib.inpainting.capstone")


class _Parsed(Exception):
    """Raised in place of parsing, carrying the parser a ``main`` built."""


def _parsers(parser):
    """The parser and, recursively, its sub-commands' parsers."""
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_every_command_line_option_has_help_and_a_plain_description(module, monkeypatch):
    """`--help` documents every option and reads as plain text (no RST markup) in every CLI."""
    import argparse
    import importlib

    def capture(self, *args, **kwargs):
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    with pytest.raises(_Parsed) as got:
        importlib.import_module(module).main([])
    for parser in _parsers(got.value.args[0]):
        assert parser.description and "``" not in parser.description and ":func:" not in parser.description, \
            (module, parser.prog, parser.description)
        undocumented = [a.dest for a in parser._actions
                        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
        assert not undocumented, f"{module} ({parser.prog}): options without help text: {undocumented}"
