"""The GPU check's CPU half, run tiny, with the package's optional dependencies out of reach."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stockagent import gpucheck

TINY = ["--epochs", "2", "--start-date", "2021-01-01", "--batches", "1,8", "--min-seconds", "0", "--cpu-threads", "1"]

# What a GPU machine with its own torch may lack: the check must neither import nor need them.
OPTIONAL = [
    "exchange_calendars",
    "yfinance",
    "orjson",
    "langgraph",
    "langchain_core",
    "langchain_openai",
    "llama_cpp",
    "sentence_transformers",
    "mlflow",
]

_BLOCKED_RUN = """
import importlib.abc, json, sys
blocked = set(json.loads(sys.argv[1]))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is blocked")
sys.meta_path.insert(0, Block())
from stockagent import gpucheck
sys.exit(gpucheck.main(sys.argv[2:]))
"""


def test_cpu_check_without_optional_packages(tmp_path):
    out = tmp_path / "figures" / "gpucheck.json"
    pymodules = str(Path(gpucheck.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": pymodules}
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, json.dumps(OPTIONAL), "--devices", "cpu", *TINY, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,  # the assertions below read its exit status and output
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "forecasts per second" in done.stdout
    figures = json.loads(out.read_text())
    (run,) = figures["runs"]
    assert (run["device"], run["amp"], len(run["epoch_seconds"])) == ("cpu", "off", 2)
    assert run["steady_epoch_seconds"] > 0 and run["best_val_loss"] > 0
    assert [(p["device"], p["batch"]) for p in figures["predict"]] == [("cpu", 1), ("cpu", 8)]
    assert all(p["forecasts_per_second"] > 0 and p["calls"] >= 3 for p in figures["predict"])
    assert figures["speedup"] is None and figures["portability"] is None
    assert figures["data"]["first_date"] >= "2021-01-01" and figures["environment"]["cpu_threads"] == 1


def test_no_gpu_is_said_and_fails(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpucheck.main(TINY) == 1
    assert "no CUDA GPU" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--devices", "tpu"], ["--amp", "fp8"], ["--batches", "0"], ["--epochs", "0"]])
def test_bad_arguments(argv):
    with pytest.raises(SystemExit) as exc:
        gpucheck.parse_args(argv)
    assert exc.value.code == 2
