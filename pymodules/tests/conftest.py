"""Shared fixtures: one thread for torch, a tiny parent model trained once per session,
settings that point at temporary data folders and the bundled prices (never the network),
the environment the entry functions read, and a free loopback port."""

from __future__ import annotations

import os

# MLflow creates a database per data folder (seconds each); the tests that need it clear this.
os.environ.setdefault("MLFLOW_DISABLE", "1")

import shutil
import socket
import subprocess
import time

import pytest
import torch

from stockagent import settings
from stockagent.entries import forecast as entries
from stockagent.forecast import train

torch.set_num_threads(1)

PARENT_EPOCHS = 1  # the interval is calibrated by conformal, so one epoch is enough for its checks


def free_port() -> int:
    """A loopback port nobody listens on now (another process may take it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(data_dir, **overrides) -> settings.Settings:
    # The statistical baselines cost seconds a run: only the tests about them turn them on.
    return settings.Settings(data_dir=data_dir, **{"data_source": "bundled", "stat_baselines": False, **overrides})


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
def load_env(monkeypatch):
    """use(NAME=value, ...) sets those variables (None unsets one) for the test, clears
    settings.load's cache and returns settings.load(), as the entry functions see it; the
    cache is cleared again when the test ends."""

    def use(**env) -> settings.Settings:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        settings.reset()
        return settings.load()

    yield use
    settings.reset()


@pytest.fixture
def entry_env(with_parent, load_env) -> settings.Settings:
    """Environment for the entry functions (they read settings.load()), with a parent model."""
    entries._predictors.clear()
    yield load_env(DATA_DIR=with_parent.data_dir, DATA_SOURCE="bundled", STAT_BASELINES="off")
    entries._predictors.clear()


@pytest.fixture(scope="module")
def redis_url():
    """A redis-server of our own on a free loopback port (REDIS_URL_TEST points at another one)."""
    if os.environ.get("REDIS_URL_TEST"):
        yield os.environ["REDIS_URL_TEST"]
        return
    server = shutil.which("redis-server")
    assert server, (
        "redis-server is not on PATH: install it with: apt-get install -y redis-server (make test does, as root)"
    )
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not listen on port {port} after 100 tries, 50 ms apart")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
