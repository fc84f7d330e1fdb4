import pytest
import torch

import course_lib
from course_lib import by_mode, config


def test_mode_follows_environment(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    assert course_lib.mode() == "full" and by_mode(1, 2) == 2
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert course_lib.is_quick() and by_mode(1, 2) == 1
    monkeypatch.setenv("COURSE_MODE", "auto")
    assert course_lib.mode() == ("gpu" if torch.cuda.is_available() else "quick")


def test_gpu_mode_uses_gpu_values_and_keeps_quick_ones_elsewhere(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "gpu")
    assert course_lib.mode() == "gpu" and course_lib.is_quick()
    assert by_mode(quick=64, gpu=128, full=256) == 128
    assert by_mode(quick=64, full=256) == 64  # no GPU-mode value: the quick one, always safe
    assert by_mode(quick=1, gpu=None, full=2) is None  # None is a value, not "unset"
    monkeypatch.setenv("COURSE_MODE", "full")
    assert by_mode(quick=64, gpu=128, full=256) == 256 and not course_lib.is_quick()


@pytest.mark.parametrize("env", [None, "", "auto", "AUTO "])
def test_a_cuda_gpu_never_selects_full_mode(monkeypatch, env):
    # A fake CUDA device: what Colab with a GPU runtime looks like to the course.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    if env is None:
        monkeypatch.delenv("COURSE_MODE", raising=False)
    else:
        monkeypatch.setenv("COURSE_MODE", env)
    assert course_lib.mode() == "gpu"
    assert by_mode(quick=64, gpu=128, full=256) == 128
    assert config.auto_mode(cuda_available=True) == "gpu" and config.auto_mode(cuda_available=False) == "quick"
    monkeypatch.setenv("COURSE_MODE", "full")  # only an explicit request gives the papers' sizes
    assert course_lib.mode() == "full"


def test_bad_mode_names_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match="COURSE_MODE must be one of quick, gpu, full, auto; got 'fast'"):
        course_lib.mode()


def test_offline_flag(monkeypatch):
    for value, expected in (("1", True), ("yes", True), ("TRUE", True), ("0", False), ("", False)):
        monkeypatch.setenv("COURSE_OFFLINE", value)
        assert config.offline() is expected
    monkeypatch.delenv("COURSE_OFFLINE")
    assert not config.offline()


def test_seed_everything_repeats_draws():
    course_lib.seed_everything(3)
    a = torch.rand(4)
    course_lib.seed_everything(3)
    assert torch.equal(a, torch.rand(4))
    with pytest.raises(TypeError):
        course_lib.seed_everything(1.5)


def test_setup_prints_versions_device_and_mode(capsys):
    s = course_lib.setup(seed=1)
    out = capsys.readouterr().out
    assert f"course_lib {course_lib.__version__}" in out and "torch" in out
    assert "device: cpu" in out and "mode: quick" in out
    assert s.device.type == "cpu" and s.mode == "quick" and s.seed == 1
    assert not config.in_colab()


def test_setup_states_the_expected_run_time_of_every_notebook(capsys, monkeypatch):
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = json.loads((root / "course_lib" / "notebook_times.json").read_text())
    sources = sorted(f"{p.parent.name}/{p.stem}" for d in ("lectures", "solutions") for p in (root / d).glob("[0-9]*.py"))
    assert sorted(table["quick_s"]) == sources  # every executed notebook has a measured time
    course_lib.setup(seed=0, notebook="04_pix2pix")
    quick_line = capsys.readouterr().out.splitlines()[-1]
    minutes = round(table["quick_s"]["lectures/04_pix2pix"] / 60)
    assert quick_line == f"expected run time: about {minutes} min on a 2-core CPU (measured)"
    monkeypatch.setenv("COURSE_MODE", "gpu")
    course_lib.setup(seed=0, notebook="04_pix2pix_lab")
    out = capsys.readouterr().out
    assert "mode: gpu" in out and "expected run time:" in out and "without a CUDA GPU will be slow" in out
    monkeypatch.setenv("COURSE_MODE", "full")
    course_lib.setup(seed=0, notebook="labs/04_pix2pix_lab.ipynb")
    assert "hours or days" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown notebook"):
        course_lib.setup(seed=0, notebook="99_nothing", verbose=False)


def test_every_notebook_names_itself_in_setup():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for d in ("lectures", "solutions", "labs"):
        for p in (root / d).glob("[0-9]*.py"):
            assert f'course_lib.setup(seed=0, notebook="{p.stem}")' in p.read_text(), p
