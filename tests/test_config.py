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
    assert course_lib.mode() == ("full" if torch.cuda.is_available() else "quick")


def test_bad_mode_names_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match="COURSE_MODE must be one of quick, full, auto; got 'fast'"):
        course_lib.mode()


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
