import datetime as dt
from pathlib import Path

import pytest
import torch

from stockagent.settings import Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.data_dir == Path(".data").absolute() and s.data_source == "auto" and s.prices_dir is None
    assert (s.parent_ticker, s.parent_start_date, s.parent_epochs, s.child_epochs) == (
        "^GSPC",
        dt.date(2004, 8, 19),
        20,
        10,
    )
    assert (s.child_strategy, s.learning_rate, s.fine_tune_learning_rate) == ("freeze", 1e-3, 1e-4)
    assert s.train_start_date is None and s.model_keep_versions == 5 and s.device == "auto"
    assert s.torch_device() == ("cuda" if torch.cuda.is_available() else "cpu")  # "auto": the GPU when torch sees one


def test_from_env(tmp_path):
    s = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "DATA_SOURCE": "Bundled",
            "PARENT_EPOCHS": "3",
            "TRAIN_START_DATE": "2015-01-01",
            "CHILD_STRATEGY": "fine_tune",
            "PARENT_TICKER": " spy ",
            "LEARNING_RATE": "0.01",
            "DEVICE": "cpu",
            "PRICES_DIR": "",
        }
    )
    assert s.data_dir == tmp_path and s.data_source == "bundled" and s.parent_epochs == 3 and s.prices_dir is None
    assert s.train_start_date == dt.date(2015, 1, 1) and s.child_strategy == "fine_tune" and s.parent_ticker == "SPY"
    assert s.models_dir == tmp_path / "models"
    shared = Settings.from_env({"DATA_DIR": str(tmp_path), "MODELS_DIR": str(tmp_path / "shared")})
    assert shared.models_dir == tmp_path / "shared"  # MODELS_DIR: the folder replicas share


@pytest.mark.parametrize(
    "env, name",
    [
        ({"DATA_SOURCE": "ftp"}, "DATA_SOURCE"),
        ({"PARENT_EPOCHS": "0"}, "PARENT_EPOCHS"),
        ({"CHILD_EPOCHS": "ten"}, "CHILD_EPOCHS"),
        ({"LEARNING_RATE": "2"}, "LEARNING_RATE"),
        ({"CHILD_STRATEGY": "thaw"}, "CHILD_STRATEGY"),
        ({"PARENT_START_DATE": "2004-13-01"}, "PARENT_START_DATE"),
        ({"MODEL_KEEP_VERSIONS": "0"}, "MODEL_KEEP_VERSIONS"),
        ({"DEVICE": "tpu"}, "DEVICE"),
        ({"PARENT_TICKER": "../x"}, "PARENT_TICKER"),
    ],
)
def test_invalid(env, name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env(env)
