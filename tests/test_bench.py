"""The benchmark command measures every variant in one process, as ratios to the fp32 eager baseline."""

import csv

from course_lib.train import bench


def test_bench_reports_rates_ratios_memory_and_data_share(tmp_path, capsys):
    out = tmp_path / "bench.csv"
    assert bench.main(["--models", "tinygan", "--presets", "quick", "--variants", "eager", "plain", "channels_last",
                       "bf16", "fp16", "--steps", "2", "--warmup", "1", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["variant"] for r in rows] == ["eager", "plain", "channels_last", "bf16"]  # no fp16 on CPU
    assert float(rows[0]["ratio"]) == 1.0
    for r in rows:
        assert float(r["steps_per_s"]) > 0 and float(r["images_per_s"]) == float(r["steps_per_s"]) * int(r["batch"])
        assert float(r["peak_mem_mb"]) > 0 and 0 <= float(r["data_share"]) < 1 and not r["note"]
    assert "machine:" in capsys.readouterr().out
    # the README's table: the machine as lscpu names it, one row, one ratio column per variant
    table = out.with_suffix(".md").read_text()
    from course_lib.train.device import cpu_info

    assert cpu_info()[0] in table.splitlines()[0]
    assert "| model | preset | batch | eager steps/s | images/s | data share | plain | channels_last | bf16 |" in table
    row = next(line for line in table.splitlines() if line.startswith("| tinygan | quick |"))
    assert row.count("x |") == 3  # plain, channels_last, bf16 as ratios


def test_plain_loop_updates_every_network_like_the_trainer():
    # The "plain" baseline must do the same work as the Trainer. With G updated *before* D, a plain
    # loop whose shared forward pass ran while only D was trainable would leave G's outputs without
    # a graph: G's backward fails or is skipped, and "plain" looks unfairly fast.
    import torch
    from torch import nn

    from course_lib.data import Blobs
    from course_lib.losses import discriminator_loss, generator_loss
    from course_lib.train import TrainConfig, Trainer, TrainingTask

    class GFirst(TrainingTask):
        def __init__(self):
            super().__init__()
            self.G = nn.Conv2d(3, 3, 3, padding=1)
            self.D = nn.Conv2d(3, 1, 4, 2, 1)

        def configure_optimizers(self):
            return {"G": torch.optim.SGD(self.G.parameters(), 0.1), "D": torch.optim.SGD(self.D.parameters(), 0.1)}

        def forward_step(self, real, phase):
            return {"fake": self.G(torch.randn_like(real))}

        def update_loss(self, name, real, out, phase):
            if name == "D":
                return {"loss": discriminator_loss(self.D(real), self.D(out["fake"].detach()))}
            return {"loss": generator_loss(self.D(out["fake"]))}

    torch.manual_seed(0)
    trainer = Trainer(GFirst(), Blobs(16, size=8), TrainConfig(batch_size=2, progress=False))
    before = {name: [p.detach().clone() for p in trainer._params[name]] for name in trainer.optimizers}
    bench._plain_loop(trainer, steps=2)
    for name, params in before.items():
        assert any(not torch.equal(a, b) for a, b in zip(params, trainer._params[name])), f"{name} was not updated"
