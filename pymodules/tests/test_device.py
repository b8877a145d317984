"""Devices: DEVICE resolution, TRAIN_AMP, and weights that load on any device."""

import dataclasses

import pytest
import torch

from stockagent import errors
from stockagent.forecast import dataset, train
from stockagent.forecast.dataset import Scalers
from stockagent.forecast.registry import WEIGHTS, Registry
from stockagent.market import prices
from stockagent.settings import Settings


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize(
    "gpu, device, want",
    [
        (False, "auto", "cpu"),
        (True, "auto", "cuda"),
        (True, "cpu", "cpu"),
        (True, "cuda", "cuda"),
        (False, "cpu", "cpu"),
    ],
)
def test_torch_device(monkeypatch, gpu, device, want):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert Settings(device=device).torch_device() == want


@pytest.mark.usefixtures("no_gpu")
def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    with pytest.raises(errors.Unavailable, match=r"DEVICE=cuda but torch \(CUDA .*\) sees no GPU"):
        Settings(device="cuda").torch_device()
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(errors.Unavailable, match="DEVICE=cuda but this torch build has no CUDA support"):
        Settings(device="cuda").torch_device()
    # a training request gets the same answer (503 through the HTTP layer), not a CPU run
    with pytest.raises(errors.Unavailable, match="DEVICE=cuda"):
        train.make_config(Settings(device="cuda"), "parent")


def test_train_amp_setting():
    assert Settings.from_env({}).train_amp == "off"
    assert Settings.from_env({"TRAIN_AMP": " BF16 "}).train_amp == "bf16"
    with pytest.raises(ValueError, match="TRAIN_AMP"):
        Settings.from_env({"TRAIN_AMP": "fp8"})


@pytest.mark.parametrize("gpu, want", [(False, "off"), (True, "fp16")])
def test_amp_applies_on_cuda_only(monkeypatch, gpu, want):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    cfg = train.make_config(Settings(train_amp="fp16"), "parent")
    assert (cfg.device, cfg.amp) == ("cuda" if gpu else "cpu", want)


def test_amp_on_the_cpu_is_refused(tmp_settings):
    cfg = dataclasses.replace(train.make_config(tmp_settings, "parent", epochs=1, start_date="2021-01-01"), amp="bf16")
    data = dataset.split(prices.load(cfg.ticker, tmp_settings), cfg.start_date, cfg.end_date)
    with pytest.raises(AssertionError, match="amp bf16 is for CUDA"):
        train.fit(cfg, data, Scalers.fit(data.train))


def test_saved_weights_are_cpu_float32(with_parent):
    """The file holds CPU float32 tensors whatever device trained them, so it loads anywhere."""
    reg = Registry.from_settings(with_parent)
    version = reg.serving_version("parent")
    state = torch.load(reg.root / "parent" / version / WEIGHTS, weights_only=True)  # no map_location
    assert state and all(t.device.type == "cpu" and t.dtype == torch.float32 for t in state.values())
    with_grad = {k: v.requires_grad_() for k, v in state.items()}  # registry.save detaches, too
    again = reg.load("parent", reg.save("parent", with_grad, {}, {}, promote=False), map_location="cpu")
    assert all(not t.requires_grad and torch.equal(t, state[k]) for k, t in again.state_dict.items())
