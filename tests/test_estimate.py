"""The GPU-time estimate: FLOPs of one step per phase x planned steps (course_lib.train.estimate)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from course_lib.train import Phase, TrainConfig, Trainer, TrainingTask, estimate
from tools.notebooks import ROOT


class Linear2(TrainingTask):
    """Two updates on a linear map: 'a' in every phase, 'b' only in the second one."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(64, 64, bias=False), nn.Linear(64, 64, bias=False)

    def configure_optimizers(self):
        return {"a": torch.optim.SGD(self.a.parameters(), 0.1), "b": torch.optim.SGD(self.b.parameters(), 0.1)}

    def update_loss(self, name, batch, out, phase):
        net = self.a if name == "a" else self.b
        return {"loss": net(batch).square().mean()}


def test_measured_fit_counts_each_phase_and_leaves_the_trainer_at_the_end(tmp_path, monkeypatch):
    log = tmp_path / "flops.jsonl"
    monkeypatch.setenv(estimate.ESTIMATE_ENV, str(log))
    data = torch.randn(64, 64)
    phases = [Phase("first", 30, updates=("a",)), Phase("both", 70, updates=("a", "b"))]
    trainer = Trainer(Linear2(), data, TrainConfig(batch_size=8, log_every=10, progress=False), phases=phases)
    history = trainer.fit()
    assert trainer.step == trainer.total_steps == 100 and history.stopped_by == "estimate"
    (record,) = estimate.read_log(log)
    assert [p["phase"] for p in record["phases"]] == ["first", "both"]
    # The second phase runs both updates, each the same work as the first phase's one update.
    one = record["phases"][0]["flops_per_step"]
    two = record["phases"][1]["flops_per_step"]
    assert one > 0 and two == 2 * one
    steps, flops = estimate.training_flops([record])
    assert steps == 100 and flops == 30 * one + 70 * two
    assert estimate.t4_seconds(flops) == pytest.approx(flops / estimate.T4_SUSTAINED_FLOPS)
    assert trainer.config.log_every == 10  # settings restored


def test_without_the_variable_fit_trains_for_real(monkeypatch):
    monkeypatch.delenv(estimate.ESTIMATE_ENV, raising=False)
    trainer = Trainer(Linear2(), torch.randn(32, 64), TrainConfig(steps=5, batch_size=8, progress=False))
    assert trainer.fit().stopped_by != "estimate" and trainer.step == 5


@pytest.mark.slow
def test_estimate_tool_runs_a_notebook_in_gpu_mode_and_reports_its_training(tmp_path):
    from tools import estimate as tool

    row = tool.estimate_one(ROOT / "lectures" / "00_setup_and_tour.py")
    assert row["error"] is None, row["error"]
    # lecture 00 trains the tiny GAN once, with the planned schedule recorded
    assert row["runs"] >= 1 and row["steps"] > 0 and row["flops_per_step"] > 0
    assert row["gpu_s"] >= row["training_s"] > 0
    times = json.loads((ROOT / "course_lib" / "notebook_times.json").read_text())
    assert row["notebook"] in times["quick_s"]


def test_pixel_optimisation_counts_two_evaluations_for_the_planned_ones(tmp_path, monkeypatch):
    from course_lib.style.gatys import optimise_image

    log = tmp_path / "flops.jsonl"
    monkeypatch.setenv(estimate.ESTIMATE_ENV, str(log))
    target = torch.rand(1, 3, 16, 16)
    conv = nn.Conv2d(3, 8, 3, padding=1)

    def loss_fn(x):
        return {"total": (conv(x) - conv(target)).pow(2).mean()}

    result = optimise_image(loss_fn, torch.rand(1, 3, 16, 16), 300, "adam")
    assert result.evaluations == 2  # counted, not run 300 times
    (record,) = estimate.read_log(log)
    (phase,) = record["phases"]
    assert phase["steps"] == 300 and phase["executed"] == 2 and phase["flops_per_step"] > 0
    assert not estimate.counting()


def test_notebook_times_tool_copies_measured_quick_times():
    from tools.notebook_times import update

    table = {"quick_s": {"lectures/00_setup_and_tour": 28}, "gpu_s": {}}
    names = update({"lectures/00_setup_and_tour.ipynb": 31.4, "solutions/01_x_lab.ipynb": 7.6, "tests/x.ipynb": 1}, table)
    assert names == ["lectures/00_setup_and_tour", "solutions/01_x_lab"]
    assert table["quick_s"] == {"lectures/00_setup_and_tour": 31, "solutions/01_x_lab": 8}


def test_readme_shows_the_run_time_table_as_the_tool_prints_it():
    from tools import estimate as tool

    times = json.loads((ROOT / "course_lib" / "notebook_times.json").read_text())
    table = tool.table(times)
    readme = (ROOT / "README.md").read_text()
    assert table in readme, "README's run-time table is stale: paste `python -m tools.estimate --table`"
    # every notebook is listed, and every estimated one has its steps and FLOPs
    for name in times["quick_s"]:
        assert f"| {name} |" in table
    for name, detail in times.get("gpu_detail", {}).items():
        assert name in times["gpu_s"] and detail["gflop"] >= 0 and detail["steps"] >= 0


def test_every_notebook_s_gpu_configuration_was_run_as_it_is_now():
    # `make estimate` executes each notebook in gpu mode (one step per training phase, offline data
    # path): the record of that run names the mode-dependent lines it ran. A changed by_mode(...)
    # line needs a new check: `make estimate ESTIMATE_ARGS="NN --write"`.
    from tools import estimate as tool
    from tools.notebooks import EXECUTED_DIRS, sources

    detail = json.loads((ROOT / "course_lib" / "notebook_times.json").read_text()).get("gpu_detail", {})
    stale = []
    for folder in EXECUTED_DIRS:
        for src in sources(folder):
            name = f"{src.parent.name}/{src.stem}"
            recorded = detail.get(name, {}).get("config")
            if recorded != tool.config_fingerprint(src):
                stale.append(f"{name} (recorded {recorded}, now {tool.config_fingerprint(src)})")
    assert not stale, "GPU configuration not checked since it changed: " + ", ".join(stale)
