"""The translation capstone (course_lib.translation.capstone): setting, data, scores, table, figures, CLI."""

from __future__ import annotations

import csv

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from course_lib.translation import capstone
from course_lib.translation.capstone import (
    BASELINES,
    UNPAIRED,
    CapstoneConfig,
    PairSubset,
    assert_beats_identity,
    break_even,
    evaluate,
    format_table,
    fraction_curve,
    fraction_points,
    held_out,
    markdown_table,
    mean_winter,
    pix2pix_name,
    sample_grid,
    train_all,
    training_pool,
    write_csv,
)

#: seconds, not minutes: 2 iterations of every method, 12 pairs, 4 held-out scenes
TINY = CapstoneConfig.quick(n_pairs=12, fractions=(1.0, 0.25), steps=2, batch_size=2, n_test=4, k=2)


@pytest.fixture(scope="module")
def tiny():
    pool = training_pool(TINY)
    trained = train_all(TINY, log=None, pool=pool)
    held = held_out(TINY)
    return pool, trained, held, evaluate(trained, held, mean_winter(pool), k=TINY.k)


@pytest.mark.parametrize("changes, message", [
    (dict(size=48), "power of two"),
    (dict(size=16), "power of two"),
    (dict(steps=0), "steps"),
    (dict(n_pairs=2.5), "n_pairs"),
    (dict(k=1), "k must be"),
    (dict(fractions=()), "fractions"),
    (dict(fractions=[1.0]), "tuple"),
    (dict(fractions=(1.0, 0.0)), r"\(0, 1\]"),
    (dict(fractions=(1.5,)), r"\(0, 1\]"),
    (dict(n_pairs=10, fractions=(0.01, 0.02)), "repeated pair counts"),
    (dict(lr=0.0), "lr"),
])
def test_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        CapstoneConfig.quick(**changes)


def test_presets():
    quick, gpu, full = CapstoneConfig.quick(), CapstoneConfig.gpu(), CapstoneConfig.full()
    # quick: the shipped CycleGAN's setting (32 px SeasonScenes, 64 held-out layouts) and the fractions
    assert (quick.size, quick.n_test, quick.use_shipped) == (32, 64, True)
    assert {1.0, 0.1, 0.01} <= set(quick.fractions)
    assert quick.pair_counts() == [2000, 200, 20, 2] and quick.num_downs == 5
    for cfg in (gpu, full):  # the shipped CycleGAN is 32 px: both train every method, with more fractions
        assert cfg.size > 32 and not cfg.use_shipped and len(cfg.fractions) > len(quick.fractions)
        assert min(cfg.pair_counts()) >= 20
    assert full.size == 128 and full.ngf == 64 and full.cyclegan_blocks == 9


def test_pairs_are_nested_and_true_and_held_out_differs_from_training():
    cfg = CapstoneConfig.quick(n_pairs=6, fractions=(1.0, 0.5), n_test=3)
    pool = training_pool(cfg)
    small, large = PairSubset(pool, 3), PairSubset(pool, 6)
    assert len(small) == 3 and len(large) == 6
    for i in range(3):  # the 50 % subset is the first half of the 100 % one
        assert torch.equal(small[i]["input"], large[i]["input"]) and torch.equal(small[i]["target"], large[i]["target"])
    # a pair is one layout in two seasons: the winter is the true counterpart of the summer
    scenes = capstone.SeasonScenes(length=6, size=32, seed=0, paired=True)
    assert torch.equal(large[2]["target"], scenes[2]["B"]) and torch.equal(large[2]["input"], scenes[2]["A"])
    # the unpaired data have the same summers and other layouts' winters
    unpaired = capstone.unpaired_training_data(cfg)
    assert torch.equal(unpaired[2]["A"], large[2]["input"]) and not torch.equal(unpaired[2]["B"], large[2]["target"])
    held = held_out(cfg)
    assert held["A"].shape == (3, 3, 32, 32)
    assert not any(torch.equal(held["A"][i], large[j]["input"]) for i in range(3) for j in range(6))
    with pytest.raises(ValueError, match="n must be"):
        PairSubset(pool, 7)


def test_the_quick_held_out_set_is_the_shipped_cyclegans_test_set():
    from course_lib.pretrained.unpaired_specs import seasons_held_out

    ours, shipped = held_out(CapstoneConfig.quick()), seasons_held_out()
    assert torch.equal(ours["A"], shipped["A"]) and torch.equal(ours["B"], shipped["B"])


def test_every_method_trains_with_the_same_budget_and_is_scored(tiny):
    pool, trained, held, rows = tiny
    expected = [*BASELINES, *(pix2pix_name(f) for f in TINY.fractions), *UNPAIRED]
    assert list(rows) == expected
    here = [t for t in trained.values() if t.origin.startswith("trained here")]
    assert {t.origin for t in here} == {f"trained here: {TINY.steps} it. x {TINY.batch_size}"}
    assert [trained[pix2pix_name(f)].pairs for f in TINY.fractions] == TINY.pair_counts() == [12, 3]
    assert trained["CycleGAN"].pairs == 0 and trained["MUNIT"].pairs == 0
    for name, row in rows.items():
        assert row.outputs.shape == held["B"].shape and row.per_image_l1.shape == (TINY.n_test,)
        assert row.outputs.min() >= -1 and row.outputs.max() <= 1
        assert torch.isfinite(torch.tensor([row.l1, row.psnr, row.ssim, row.patch])).all(), name
    # the identity's scores are the input's distance to the truth
    assert rows["identity"].l1 == pytest.approx(float((held["A"] - held["B"]).abs().mean()), rel=1e-5)
    assert rows["identity"].params_test == 0 and rows["mean winter"].pairs is None
    assert torch.allclose(rows["mean winter"].outputs[0], pool.tensors["B"].mean(0).clamp(-1, 1))
    # MUNIT: best of k is never worse than the mean of the k draws, and the k draws differ
    best, random = rows["MUNIT (best of k)"], rows["MUNIT (random style)"]
    assert best.l1 <= random.l1 + 1e-6 and best.diversity == random.diversity > 0
    assert bool((best.per_image_l1 <= random.per_image_l1 + 1e-6).all())  # draw 0 is one of the k
    assert rows["CycleGAN"].params_test > 0 and rows["CycleGAN"].params_train > rows["CycleGAN"].params_test


def test_shipped_cyclegan_is_used_only_where_it_fits():
    from course_lib import pretrained

    if "cyclegan" not in pretrained.available():
        pytest.skip("the shipped cyclegan checkpoint is not installed")
    shipped = capstone.shipped_cyclegan(CapstoneConfig.quick())
    assert shipped is not None and shipped.origin.startswith("shipped") and shipped.seconds > 0
    assert capstone.shipped_cyclegan(CapstoneConfig.quick(use_shipped=False)) is None
    assert capstone.shipped_cyclegan(CapstoneConfig.gpu()) is None  # 64 px: it does not fit


def test_assert_beats_identity_catches_a_method_worse_than_the_input(tiny):
    _, _, held, rows = tiny
    import dataclasses

    bad = dict(rows)
    bad["CycleGAN"] = dataclasses.replace(rows["CycleGAN"], l1=rows["identity"].l1 + 0.1)
    with pytest.raises(AssertionError, match="CycleGAN does not beat the identity"):
        assert_beats_identity(bad)
    good = {n: dataclasses.replace(r, l1=rows["identity"].l1 - 0.01) for n, r in rows.items() if n not in BASELINES}
    assert_beats_identity({"identity": rows["identity"], **good})
    with pytest.raises(ValueError, match="metric"):
        assert_beats_identity(rows, "fid")
    with pytest.raises(KeyError, match="identity"):
        assert_beats_identity(good)


def test_break_even_interpolates_in_log_fraction():
    pts = [(0.01, 0.30), (0.1, 0.20), (1.0, 0.10)]
    assert break_even(pts, 0.25) == pytest.approx(10 ** -1.5)  # halfway between 1 % and 10 % in log
    assert break_even(pts, 0.10) == pytest.approx(1.0)
    assert break_even(pts, 0.05) is None and break_even(pts, 0.5) is None  # never crosses
    assert break_even(list(reversed(pts)), 0.15) == pytest.approx(10 ** -0.5)  # order does not matter
    with pytest.raises(ValueError, match="two"):
        break_even(pts[:1], 0.2)


def test_table_and_figures(tiny, tmp_path):
    _, _, held, rows = tiny
    text = format_table(rows)
    assert all(name in text for name in rows) and "patch dist" in text and "params (trained)" in text
    md = markdown_table(rows)
    assert md.count("\n") == len(rows) + 1 and md.startswith("| method |")
    write_csv(rows, tmp_path / "t.csv")
    read = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [r["method"] for r in read] == list(rows) and float(read[0]["l1"]) == pytest.approx(rows["identity"].l1)
    assert fraction_points(rows, TINY) == sorted((f, rows[pix2pix_name(f)].l1) for f in TINY.fractions)
    fig = fraction_curve(rows, TINY)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.lines) >= 1 + len(UNPAIRED)
    fig = sample_grid(rows, held, indices=(0, 1))
    assert len(fig.axes) == 2 * (len(rows) - 1 + 2)  # input, every method but the identity, truth
    assert fig.axes[0].images[0].get_array().shape[0] >= 64  # 32 px scenes upscaled for display
    with pytest.raises(ValueError, match="panel_px"):
        sample_grid(rows, held, panel_px=32)
    with pytest.raises(ValueError, match="unknown methods"):
        sample_grid(rows, held, names=["pix2pix 200%"])
    with pytest.raises(ValueError, match="outside"):
        sample_grid(rows, held, indices=(99,))
    with pytest.raises(ValueError, match="metric"):
        fraction_curve(rows, TINY, metric="fid")


def test_evaluate_and_train_reject_bad_arguments(tiny):
    pool, trained, held, _ = tiny
    with pytest.raises(ValueError, match="k must be"):
        evaluate(trained, held, mean_winter(pool), k=1)
    with pytest.raises(ValueError, match="mean_image"):
        evaluate(trained, held, mean_winter(pool)[0], k=2)
    with pytest.raises(ValueError, match="fraction must be one of"):
        capstone.train_pix2pix(TINY, pool, 0.5)
    with pytest.raises(TypeError, match="CapstoneConfig"):
        capstone.run({"size": 32})


def test_cli_runs_a_tiny_preset(tmp_path, capsys):
    out = tmp_path / "run"
    assert capstone.main(["--preset", "quick", "--steps", "1", "--n-pairs", "8", "--fractions", "1", "0.5",
                          "--n-test", "3", "--out", str(out)]) == 0
    for name in ("table.csv", "table.md", "fraction_curve.png", "samples.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    text = capsys.readouterr().out
    assert "pix2pix 100%" in text and "pix2pix 50%" in text and "MUNIT (best of k)" in text


@pytest.mark.parametrize("argv, message", [
    (["--preset", "huge"], "invalid choice"),
    (["--steps", "0"], "steps must be a positive int"),
    (["--fractions", "2"], "in (0, 1]"),
])
def test_cli_rejects_bad_arguments(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        capstone.main([*argv, "--out", str(tmp_path)])
    assert message in capsys.readouterr().err
