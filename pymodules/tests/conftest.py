"""Shared fixtures: one thread for torch, a tiny parent model trained once per session, and
settings that point at temporary data folders and the bundled prices (never the network)."""

from __future__ import annotations

import os

# MLflow creates a database per data folder (seconds each); the tests that need it clear this.
os.environ.setdefault("MLFLOW_DISABLE", "1")

import shutil

import pytest
import torch

from stockagent import entry, settings
from stockagent.forecast import train

torch.set_num_threads(1)

PARENT_EPOCHS = 1  # the interval is calibrated by conformal, so one epoch is enough for its checks


def make_settings(data_dir, **overrides) -> settings.Settings:
    return settings.Settings(data_dir=data_dir, **{"data_source": "bundled", **overrides})


@pytest.fixture
def tmp_settings(tmp_path) -> settings.Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def parent_settings(tmp_path_factory) -> settings.Settings:
    """Settings whose data folder holds a parent trained once (^GSPC from 2004-08-19, 1 epoch)."""
    s = make_settings(tmp_path_factory.mktemp("parent") / "data")
    train.train_and_save(s, "parent", epochs=PARENT_EPOCHS)
    return s


@pytest.fixture
def with_parent(parent_settings, tmp_path) -> settings.Settings:
    """A fresh data folder holding a copy of the session's parent model (tests may add to it)."""
    s = make_settings(tmp_path / "data")
    shutil.copytree(parent_settings.models_dir, s.models_dir)
    return s


@pytest.fixture
def entry_env(with_parent, monkeypatch) -> settings.Settings:
    """Environment for the entry functions (they read settings.load()), with a parent model."""
    monkeypatch.setenv("DATA_DIR", str(with_parent.data_dir))
    monkeypatch.setenv("DATA_SOURCE", "bundled")
    settings.load.cache_clear()
    entry._predictors.clear()
    yield settings.load()
    settings.load.cache_clear()
    entry._predictors.clear()
