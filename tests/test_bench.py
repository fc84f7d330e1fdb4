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
