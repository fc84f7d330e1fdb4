"""Injected faults: what a crash, a full disk, a bad checkpoint or a wrong command does to a run.

Each test breaks one thing on purpose and checks that no work is lost or silently corrupted, and
that the message names what went wrong and what to do. The command-line tests call ``main()`` in
this process on the cheapest recipe (tinygan, batch 4, a few steps); two start a real process
where only a process can show it (fresh interpreter state, a kill during a save).
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest
import torch
from torch import nn

import course_lib.train.checkpoint as ckpt_mod
from course_lib.data import Blobs
from course_lib.tiny_gan import TinyGANTask
from course_lib.train import SupervisedTask, TrainConfig, Trainer, load_checkpoint, save_checkpoint
from course_lib.train.cli import RECIPES, Recipe, main
from tests.test_train import DropoutGAN, JitteredBlobs
from tests.test_train import run as run_dropout_gan

# ----------------------------------------------------------------------------- helpers
DiskUsage = namedtuple("DiskUsage", "total used free")


def cli(out: Path, *args: str) -> int:
    """One in-process command-line run of tinygan (batch 4: a step takes milliseconds)."""
    return main(["tinygan", "--batch-size", "4", "--out", str(out), *args])


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["task"]


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def trainer(steps: int, path: Path | None = None, task: nn.Module | None = None, **cfg) -> Trainer:
    torch.manual_seed(0)
    config = TrainConfig(steps=steps, batch_size=4, log_every=cfg.pop("log_every", 4), progress=False,
                         checkpoint_path=str(path) if path else None, **cfg)
    return Trainer(task or DropoutGAN(), JitteredBlobs(64, seed=0), config)


def flip_bit_in_largest_tensor(path: Path) -> None:
    """Flip one exponent bit in the middle of the largest tensor stored in a torch zip checkpoint."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len  # the stored (uncompressed) tensor bytes
    raw[start + (info.file_size // 8) * 4 + 3] ^= 0x08  # the high byte of a float32 in the middle
    path.write_bytes(bytes(raw))


def tinygan_z16(preset: str, data: str | None = None) -> Recipe:
    """A second recipe with another model (another latent size), to resume into the wrong folder."""
    return Recipe(task=TinyGANTask(z_dim=16), data=Blobs(length=1000, size=16, seed=0),
                  config=TrainConfig(steps=4, batch_size=4, log_every=2), description="tinygan, z_dim 16")


# ----------------------------------------------------------------------------- 5: seeding
def test_two_identical_cli_runs_give_identical_weights(tmp_path):
    cli(tmp_path / "a", "--steps", "3")
    torch.manual_seed(1234)  # whatever ran before in this process must not matter
    cli(tmp_path / "b", "--steps", "3")
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    cli(tmp_path / "c", "--steps", "3", "--seed", "1")
    assert not same_weights(weights(tmp_path / "a"), weights(tmp_path / "c"))
    state = load_checkpoint(tmp_path / "c" / "checkpoint.pt")
    assert state["settings"]["seed"] == 1 and state["config"]["seed"] == 1


def test_two_identical_cli_processes_give_identical_weights(tmp_path):
    for name in ("a", "b"):
        cmd = [sys.executable, "-m", "course_lib.train", "tinygan", "--steps", "2", "--batch-size", "4",
               "--out", str(tmp_path / name)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))


def test_cli_resume_is_bit_identical_with_the_same_history(tmp_path):
    """8 steps straight == 4 steps, then --resume to 8: weights and history.csv (log every 3 steps)."""
    cli(tmp_path / "straight", "--steps", "8", "--log-every", "3")
    cli(tmp_path / "split", "--steps", "4", "--log-every", "3")
    cli(tmp_path / "split", "--steps", "8", "--log-every", "3", "--resume")
    assert same_weights(weights(tmp_path / "straight"), weights(tmp_path / "split"))
    straight = (tmp_path / "straight" / "history.csv").read_text()
    assert straight == (tmp_path / "split" / "history.csv").read_text()
    assert [row["step"] for row in csv.DictReader(straight.splitlines()) if row["key"] == "G/loss"] == ["3", "6", "8"]


def test_drawing_samples_does_not_change_training(tmp_path):
    """DropoutGAN.sample runs G in training mode (dropout draws random numbers, batch norm counts
    batches): with or without sample grids, and resumed after a sample at the split, same weights."""
    plain, _ = run_dropout_gan(8)
    sampled, t = run_dropout_gan(8, sample_every=1)
    assert len(t.history.samples) == 8 and same_weights(plain.state_dict(), sampled.state_dict())
    run_dropout_gan(8, tmp_path / "ck.pt", until=3, sample_every=5)  # samples at the stop (step 3)
    resumed, _ = run_dropout_gan(8, tmp_path / "ck.pt", resume=True, sample_every=5)
    assert same_weights(plain.state_dict(), resumed.state_dict())


def test_pix2pix_cli_runs_are_identical_and_resume_bit_for_bit(tmp_path):
    """The reported case: pix2pix keeps dropout on when it draws its sample grids."""
    common = ["pix2pix", "--batch-size", "2", "--log-every", "3"]
    main([*common, "--steps", "4", "--out", str(tmp_path / "a")])
    main([*common, "--steps", "4", "--out", str(tmp_path / "b")])
    main([*common, "--steps", "2", "--out", str(tmp_path / "c")])
    main([*common, "--steps", "4", "--out", str(tmp_path / "c"), "--resume"])
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert same_weights(weights(tmp_path / "a"), weights(tmp_path / "c"))
    assert (tmp_path / "a" / "history.csv").read_text() == (tmp_path / "c" / "history.csv").read_text()


# ----------------------------------------------------------------------------- 6: NaN
def test_nan_loss_never_reaches_a_checkpoint(tmp_path):
    """log_every=5, checkpoint_every=1: the loss of step 4 is NaN; step 3's checkpoint must survive."""
    calls = {"n": 0}

    def loss(pred, batch):
        calls["n"] += 1
        return pred.mean() * (float("nan") if calls["n"] == 4 else 1.0)

    task = SupervisedTask(nn.Conv2d(3, 3, 1), loss, inputs=("x",))
    data = [{"x": torch.ones(3, 4, 4)}] * 8
    path = tmp_path / "ck.pt"
    t = Trainer(task, data, TrainConfig(steps=10, log_every=5, checkpoint_every=1, checkpoint_path=str(path),
                                        progress=False))
    with pytest.raises(FloatingPointError) as err:
        t.fit()
    message = str(err.value)
    assert "G/loss" in message and "step 4" in message and "last good checkpoint is kept" in message
    assert str(path) in message and "(step 3)" in message
    state = load_checkpoint(path)
    assert state["step"] == 3 and all(torch.isfinite(v).all() for v in state["task"].values())


def test_nan_weights_with_a_finite_loss_never_reach_a_checkpoint(tmp_path):
    calls = {"n": 0}
    model = nn.Conv2d(3, 3, 1)

    def loss(pred, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            with torch.no_grad():
                model.bias.fill_(float("inf"))  # e.g. an overflow in a custom update
        return (pred.detach() * 0).mean() + model.weight.sum() * 0

    path = tmp_path / "ck.pt"
    t = Trainer(SupervisedTask(model, loss, inputs=("x",)), [{"x": torch.ones(3, 4, 4)}] * 8,
                TrainConfig(steps=10, log_every=100, checkpoint_every=1, checkpoint_path=str(path), progress=False))
    with pytest.raises(FloatingPointError, match=r"the weight model\.bias .*step 3.* kept, .*\(step 2\)"):
        t.fit()
    assert load_checkpoint(path)["step"] == 2


def test_nan_from_the_command_line_is_one_clear_line(tmp_path, monkeypatch):
    cli(tmp_path / "run", "--steps", "2", "--checkpoint-every", "1")
    original = TinyGANTask.update_loss

    def exploding(self, name, batch, out, phase):
        losses = original(self, name, batch, out, phase)
        return {**losses, "loss": losses["loss"] * float("nan")}

    monkeypatch.setattr(TinyGANTask, "update_loss", exploding)
    with pytest.raises(SystemExit, match=r"error: training diverged: .* at step 3 .*kept, .*\(step 2\)"):
        cli(tmp_path / "run", "--steps", "6", "--checkpoint-every", "1", "--resume")
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 2


# ----------------------------------------------------------------------------- 7: overwrite
def test_cli_refuses_to_overwrite_a_run_without_resume_or_force(tmp_path, capsys):
    run_dir = tmp_path / "run"
    cli(run_dir, "--steps", "4")
    with pytest.raises(SystemExit, match=r"already holds a run.*--resume.*--force"):
        cli(run_dir, "--steps", "3")
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 4  # the 4-step run is intact
    with pytest.raises(SystemExit, match="pass one of them"):
        cli(run_dir, "--steps", "3", "--resume", "--force")
    assert cli(run_dir, "--steps", "3", "--force") == 0
    assert "--force: deleted the previous run" in capsys.readouterr().out
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 3


# ----------------------------------------------------------------------------- 8: other settings
@pytest.mark.parametrize("change, difference", [
    (["--batch-size", "8"], "global_batch: checkpoint 4 vs now 8"),
    (["--data", "blobs"], "data: checkpoint '(recipe default)' vs now 'blobs'"),
    (["--seed", "3"], "seed: checkpoint 0 vs now 3"),
    (["--precision", "bf16"], "precision: checkpoint 'fp32' vs now 'bf16'"),
])
def test_cli_resume_refuses_other_settings(tmp_path, change, difference):
    run_dir = tmp_path / "run"
    cli(run_dir, "--steps", "2")
    with pytest.raises(SystemExit, match="other settings") as err:
        main(["tinygan", "--batch-size", "4", "--out", str(run_dir), "--steps", "4", "--resume", *change])
    assert difference in str(err.value) and "--force" in str(err.value)
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 2


def test_cli_resume_accepts_new_steps_and_intervals(tmp_path, capsys):
    run_dir = tmp_path / "run"
    cli(run_dir, "--steps", "2", "--log-every", "2")
    assert cli(run_dir, "--steps", "5", "--log-every", "3", "--checkpoint-every", "2", "--time-budget", "600",
               "--workers", "0", "--device", "cpu", "--resume") == 0
    assert "done: step 5/5" in capsys.readouterr().out
    assert cli(run_dir, "--steps", "3", "--resume") == 0  # fewer steps than done: says so, trains nothing
    printed = capsys.readouterr().out
    assert "already at step 5 of 3: nothing to train" in printed
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 5


def test_cli_resume_with_another_model_is_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPES, "tinygan_z16", "tests.test_train_faults:tinygan_z16")
    cli(tmp_path / "run", "--steps", "2")
    with pytest.raises(SystemExit, match="other settings") as err:
        main(["tinygan_z16", "--batch-size", "4", "--out", str(tmp_path / "run"), "--resume"])
    assert "model: checkpoint 'tinygan' vs now 'tinygan_z16'" in str(err.value)
    assert "Missing key" not in str(err.value)


def test_trainer_load_of_another_model_or_other_settings_is_refused_clearly(tmp_path):
    path = tmp_path / "ck.pt"
    trainer(2, path).fit()
    other = trainer(2, path, task=SupervisedTask(nn.Conv2d(3, 3, 1), lambda p, b: p.mean()))
    with pytest.raises(ValueError, match=r"other settings.*\n  task: checkpoint '.*DropoutGAN' vs now '.*SupervisedTask'"):
        other.load()
    with pytest.raises(ValueError, match=r"global_batch: checkpoint 4 vs now 2"):
        t = trainer(2, path)
        t.config.batch_size = 2
        t.load()
    # A checkpoint without settings (older course_lib): the weights themselves are compared.
    state = load_checkpoint(path)
    del state["settings"]
    with pytest.raises(ValueError, match=r"holds a different model than this SupervisedTask: 2 weights missing"):
        other.load_state_dict(state)
    assert other.step == 0  # refused before anything was loaded


# ----------------------------------------------------------------------------- 9: corruption
def test_a_bit_flip_in_a_tensor_is_detected(tmp_path):
    path = tmp_path / "ck.pt"
    trainer(3, path).fit()
    flip_bit_in_largest_tensor(path)
    torch.load(path, weights_only=True)  # the zip and pickle are intact: torch alone would not notice
    with pytest.raises(ValueError, match=r"ck\.pt is corrupted: .*checksum.*earlier copy.*delete it"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="corrupted"):
        trainer(6, path).fit(resume=True)


def test_a_corrupted_checkpoint_stops_a_cli_resume_with_advice(tmp_path):
    cli(tmp_path / "run", "--steps", "2")
    flip_bit_in_largest_tensor(tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(SystemExit, match=r"error: checkpoint .* is corrupted.*--force"):
        cli(tmp_path / "run", "--steps", "4", "--resume")


def test_a_truncated_checkpoint_gets_a_clear_error(tmp_path):
    path = tmp_path / "ck.pt"
    trainer(2, path).fit()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="corrupt or was not written by course_lib"):
        load_checkpoint(path)


def test_a_checkpoint_without_checksum_loads_with_a_warning(tmp_path):
    path = tmp_path / "ck.pt"
    old = trainer(3)
    old.fit()
    state = {k: v for k, v in old.state_dict().items() if k not in ("settings", "pending")}
    torch.save({"format": 1, **state}, path)  # what course_lib wrote before checksums
    with pytest.warns(UserWarning, match="no checksum"):
        resumed = trainer(6, path)
        resumed.fit(resume=True)
    assert resumed.step == 6


# ----------------------------------------------------------------------------- 10: disk full
def test_disk_full_during_a_save_is_explained_and_cleaned_up(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint({"weights": torch.ones(1000)}, path)

    def full_disk(obj, f, *args, **kwargs):
        f.write(b"the first part of a checkpoint")
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: DiskUsage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(OSError, match="could not write the checkpoint") as err:
        save_checkpoint({"weights": torch.zeros(1000)}, path)
    message = str(err.value)
    assert "disk is full" in message and "needs about" in message and "1000 B is free" in message
    assert "previous checkpoint" in message and "intact" in message
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["weights"], torch.ones(1000))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left


def test_cli_resume_checks_disk_space_before_training(tmp_path, monkeypatch):
    cli(tmp_path / "run", "--steps", "2")
    size = (tmp_path / "run" / "checkpoint.pt").stat().st_size
    monkeypatch.setattr(shutil, "disk_usage", lambda p: DiskUsage(10**9, 10**9, size // 2))
    monkeypatch.setattr(Trainer, "fit", lambda self, **kw: pytest.fail("trained before checking the disk"))
    with pytest.raises(SystemExit, match=r"not enough disk space.*needs about .* free"):
        cli(tmp_path / "run", "--steps", "4", "--resume")


# ----------------------------------------------------------------------------- 11: read-only out
def test_an_unwritable_out_folder_fails_before_training(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ckpt_mod.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(Trainer, "fit", lambda self, **kw: pytest.fail("trained before checking --out"))
    with pytest.raises(SystemExit, match=r"the --out folder .* is not writable .*Permission denied.*--out DIR"):
        cli(tmp_path / "run", "--steps", "2")


def test_an_out_path_below_a_file_fails_before_training(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SystemExit, match="is not writable"):
        cli(tmp_path / "file" / "run", "--steps", "2")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_folder_fails_before_training(tmp_path):  # pragma: no cover - not as root
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        with pytest.raises(SystemExit, match="is not writable"):
            cli(tmp_path / "ro", "--steps", "2")
    finally:
        (tmp_path / "ro").chmod(0o700)


def test_trainer_checks_the_checkpoint_folder_before_the_first_step(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    t = trainer(4, tmp_path / "file" / "ck.pt")
    with pytest.raises(OSError, match="checkpoint folder .* is not writable"):
        t.fit()
    assert t.step == 0


# ----------------------------------------------------------------------------- 12: leftovers
def test_stale_temporary_files_are_removed_and_resume_without_checkpoint_says_so(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".checkpoint.pt.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    (run_dir / "notes.txt").write_text("mine")
    cli(run_dir, "--steps", "2", "--resume")
    printed = capsys.readouterr().out
    assert f"no checkpoint in {run_dir}: starting from step 0" in printed
    assert "removed 1 unfinished temporary checkpoint file(s)" in printed
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "history.csv", "notes.txt", "samples"]


def test_a_kill_during_a_save_loses_only_the_steps_since_the_last_checkpoint(tmp_path, capsys):
    """A real SIGKILL in the middle of the second save (between writing and renaming)."""
    run_dir = tmp_path / "run"
    script = textwrap.dedent(f"""
        import os, signal
        import course_lib.train.checkpoint as ck
        from course_lib.train.cli import main
        calls = {{"n": 0}}
        real_fsync = os.fsync
        def fsync(fd):
            calls["n"] += 1
            if calls["n"] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real_fsync(fd)
        ck.os.fsync = fsync
        main(["tinygan", "--batch-size", "4", "--steps", "6", "--checkpoint-every", "2", "--out", {str(run_dir)!r}])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    assert len(list(run_dir.glob(".checkpoint.pt.*.tmp"))) == 1  # the save the kill interrupted
    assert load_checkpoint(run_dir / "checkpoint.pt")["step"] == 2  # the previous one is whole
    cli(run_dir, "--steps", "6", "--resume")
    assert "resumed from" in capsys.readouterr().out
    assert not list(run_dir.glob(".checkpoint.pt.*.tmp"))
    cli(tmp_path / "straight", "--steps", "6")
    assert same_weights(weights(run_dir), weights(tmp_path / "straight"))


# ----------------------------------------------------------------------------- 13: history
def _crash_at(step: int, crash, monkeypatch) -> None:
    """Call ``crash()`` in the first update of iteration ``step`` (1-based) of DropoutGAN."""
    calls = {"n": 0}
    original = DropoutGAN.update_loss

    def crashing(self, name, real, out, phase):
        calls["n"] += 1
        if calls["n"] == 2 * (step - 1) + 1:
            crash()
        return original(self, name, real, out, phase)

    monkeypatch.setattr(DropoutGAN, "update_loss", crashing)


def _raise_runtime_error():
    raise RuntimeError("the machine went away")


def _press_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test, whatever an earlier test in this process installed.

    The Trainer turns Ctrl-C into a clean stop only where that handler is in place (it leaves a
    handler someone else installed alone), so the Ctrl-C test needs it.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("crash, saved_at", [(_raise_runtime_error, 6), (_press_ctrl_c, 7)])
def test_history_after_a_crash_and_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch, crash, saved_at,
                                                                       python_sigint_handler):
    """log_every=4, checkpoint_every=3. A crash in step 8 resumes from step 6's checkpoint (mid log
    interval). Ctrl-C in step 7 finishes that step, logs a provisional entry and saves step 7. Either
    way the resumed run's history and weights equal an uninterrupted run's."""
    straight = trainer(12, log_every=4, lr_decay_start=5)
    straight.fit()
    path = tmp_path / "ck.pt"
    _crash_at(8 if crash is _raise_runtime_error else 7, crash, monkeypatch)
    crashed = trainer(12, path, log_every=4, checkpoint_every=3, lr_decay_start=5)
    if crash is _raise_runtime_error:
        with pytest.raises(RuntimeError, match="went away"):
            crashed.fit()
    else:
        crashed.fit()
        assert crashed.history.stopped_by == "interrupted" and crashed.history.step == [4, 7]
    assert load_checkpoint(path)["step"] == saved_at
    monkeypatch.undo()
    resumed = trainer(12, path, log_every=4, checkpoint_every=3, lr_decay_start=5)
    resumed.fit(resume=True)
    assert resumed.history.step == straight.history.step == [4, 8, 12]
    assert resumed.history.values == straight.history.values
    assert resumed.history.value_steps == straight.history.value_steps
    assert same_weights(resumed.task.state_dict(), straight.task.state_dict())


def test_fit_until_a_point_between_log_steps_and_continue_in_the_same_trainer():
    straight = trainer(10, log_every=4)
    straight.fit()
    t = trainer(10, log_every=4)
    t.fit(until=5)
    assert t.history.step == [4, 5]  # step 5: a provisional entry, shown while stopped
    t.fit()
    assert t.history.step == [4, 8, 10] and t.history.values == straight.history.values
