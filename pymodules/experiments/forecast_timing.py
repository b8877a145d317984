"""Where an uncached forecast's time goes, in-process: the server's encoded answer
(``Predictor.forecast_json``) against the answer built whole and encoded with ``json`` (what the
entry point sent before), and the LSTM forward pass alone, in interleaved rounds. Thread CPU time
by default (the machine is shared: it counts this thread's work only); ``--wall`` for wall time.
Needs a serving model for TICKER in DATA_DIR. Not part of the package.

    DATA_DIR=... .venv/bin/python pymodules/experiments/forecast_timing.py [TICKER] [ROUNDS] [CALLS] [--wall]
"""

import json
import statistics
import sys
import time

import torch

from stockagent import settings
from stockagent.forecast.predict import Predictor


def main(ticker: str = "AAPL", rounds: str = "7", calls: str = "200") -> None:
    torch.set_num_threads(1)  # as the server's inference lane (INFERENCE_THREADS=1)
    clock = time.perf_counter_ns if "--wall" in sys.argv else time.thread_time_ns
    pred = Predictor(settings.load())
    i = pred.inputs(ticker)
    cases = {
        "built whole + json": lambda: json.dumps(pred.forecast(ticker), separators=(",", ":")).encode(),
        "forecast_json": lambda: pred.forecast_json(ticker),
        "forward pass": lambda: i.loaded.forecaster.predict(i.window),
    }
    assert json.loads(cases["built whole + json"]()) == json.loads(cases["forecast_json"]())
    medians: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(int(rounds)):
        for name, fn in cases.items():
            lat = []
            for _ in range(int(calls)):
                t0 = clock()
                fn()
                lat.append(clock() - t0)
            medians[name].append(statistics.median(lat) / 1e3)
    print("| | p50 (median of rounds) | rounds |\n|---|---:|---|")
    for name, m in medians.items():
        print(f"| {name} | {statistics.median(m):.0f} µs | {', '.join(f'{x:.0f}' for x in m)} |")


if __name__ == "__main__":
    main(*[a for a in sys.argv[1:] if not a.startswith("--")])
