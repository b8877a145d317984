"""Measurement behind intervals.py's walk-forward bands: coverage and mean width of the 80% and 95%
bands per ticker, horizon and forecaster in a walk-forward backtest over a date range (by default
2015-2024 on every bundled ticker). Prints a Markdown table and writes the raw results as JSON.
Not part of the package.

    .venv/bin/python pymodules/experiments/backtest_coverage.py OUT.json [FORECASTERS] [EPOCHS HIDDEN LAYERS] [TICKERS]

FORECASTERS is a comma-separated list (default ``naive,drift``); EPOCHS/HIDDEN/LAYERS size the LSTM's parent;
TICKERS (comma-separated, default all bundled) are run in that order, OUT.json rewritten after each.
"""

import json
import sys
import time

import torch

from stockagent.forecast import backtest
from stockagent.settings import Settings

TICKERS = ("^GSPC", "SPY", "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "META", "JPM")


def main(
    out: str,
    names: str = "naive,drift",
    epochs: str = "3",
    hidden: str = "128",
    layers: str = "3",
    symbols: str = ",".join(TICKERS),
) -> None:
    torch.set_num_threads(2)
    settings = Settings(data_dir="/tmp/backtest-coverage", data_source="bundled")
    results = {}
    for ticker in symbols.split(","):
        started = time.monotonic()
        r = backtest.run(
            settings,
            ticker,
            "2015-01-01",
            "2024-12-31",
            forecasters=tuple(names.split(",")),
            lstm_epochs=int(epochs),
            lstm_hidden=int(hidden),
            lstm_layers=int(layers),
        )
        r.pop("equity")
        results[ticker] = r
        print(f"{ticker}: {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
    print("| ticker | forecaster | h | n | cov 80 | cov 95 | width 80 | width 95 | MASE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ticker, r in results.items():
        for row in r["scores"]:
            c, w = row["coverage"], row["width"]
            print(
                f"| {ticker} | {row['forecaster']} | {row['horizon']} | {row['n']} | {c['80']:.3f} | {c['95']:.3f} "
                f"| {w['80']:.2f} | {w['95']:.2f} | {row['mase']:.3f} |"
            )


if __name__ == "__main__":
    main(*sys.argv[1:])
