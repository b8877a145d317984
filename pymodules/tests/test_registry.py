"""Model versions on disk: atomic saves, the serving pointer, pruning."""

import os
import pickle
from pathlib import Path

import pytest
import torch

from stockagent import errors
from stockagent.forecast import registry as registry_mod
from stockagent.forecast.registry import Registry


def _state(value: float) -> dict:
    return {"w": torch.full((2, 2), value)}


def _save(reg, value, promote=True):
    return reg.save("AAPL", _state(value), {"s": value}, {"ticker": "AAPL", "created": "now"}, promote=promote)


def test_save_load_and_serving(tmp_path):
    reg = Registry(tmp_path, keep=5)
    with pytest.raises(errors.ModelMissing):
        reg.load("AAPL")
    v1 = _save(reg, 1.0)
    art = reg.load("AAPL")
    assert art.version == v1 == reg.serving_version("AAPL") and art.meta["version"] == v1
    assert torch.equal(art.state_dict["w"], _state(1.0)["w"]) and art.scalers == {"s": 1.0}
    v2 = _save(reg, 2.0, promote=False)
    assert v2 > v1 and reg.serving_version("AAPL") == v1 and reg.versions("AAPL") == [v1, v2]
    reg.set_serving("AAPL", v2)
    assert reg.load("AAPL").version == v2 and reg.load("AAPL", v1).version == v1
    assert reg.list_models() == ["AAPL"]
    with pytest.raises(errors.NotFound):
        reg.set_serving("AAPL", "v20990101000000000-abcd")
    with pytest.raises(errors.BadRequest):
        reg.load("AAPL", "../../etc")


@pytest.mark.parametrize("crash", ["torch.save", "rename", "serving"])
def test_interrupted_save_keeps_old_model(tmp_path, monkeypatch, crash):
    reg = Registry(tmp_path, keep=5)
    v1 = _save(reg, 1.0)
    real_replace = os.replace

    def boom(*a, **k):
        raise OSError("disk on fire")

    if crash == "torch.save":
        monkeypatch.setattr(registry_mod.torch, "save", boom)
    else:

        def replace(src, dst):  # crash on the version folder rename, or on the pointer update
            if (crash == "rename") == (os.path.basename(dst) != "serving.json"):
                boom()
            return real_replace(src, dst)

        monkeypatch.setattr(registry_mod.os, "replace", replace)
    with pytest.raises(OSError, match="disk on fire"):
        _save(reg, 2.0)
    monkeypatch.undo()
    assert reg.serving_version("AAPL") == v1
    art = Registry(tmp_path).load("AAPL")
    assert art.version == v1 and torch.equal(art.state_dict["w"], _state(1.0)["w"])
    if crash != "serving":  # no half-written version is ever listed, no temp folder left
        assert reg.versions("AAPL") == [v1]
        assert [p.name for p in (tmp_path / "AAPL").iterdir() if p.name.startswith(".tmp")] == []


def test_prune_keeps_newest_and_serving(tmp_path):
    reg = Registry(tmp_path, keep=2)
    first = _save(reg, 0.0)
    others = [_save(reg, float(i), promote=False) for i in range(1, 5)]
    assert reg.versions("AAPL") == [first, *others[-2:]]  # the serving one survives pruning
    reg.set_serving("AAPL", others[-1])
    _save(reg, 9.0, promote=False)
    assert first not in reg.versions("AAPL") and len(reg.versions("AAPL")) == 2


class _Planted:
    """Unpickled, it creates its marker file: code that a weights file must never run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_weights_are_loaded_without_pickle(tmp_path):
    reg = Registry(tmp_path)
    v = _save(reg, 1.0)
    path, marker = tmp_path / "AAPL" / v / "weights.pt", tmp_path / "planted-code-ran"
    torch.save({"w": _state(1.0)["w"], "evil": _Planted(marker)}, path)  # not a plain tensor dict
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        reg.load("AAPL")
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the planted code is live: plain unpickling runs it
    assert marker.exists()
