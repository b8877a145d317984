"""Command line: one operation per process, JSON on stdout, through the same entry functions Go calls.

    python -m stockagent.cli predict-child --ticker AAPL
    python -m stockagent.cli predict-parent
    python -m stockagent.cli train-parent [--epochs N] [--start-date D] [--end-date D] [--learning-rate X]
    python -m stockagent.cli train-child --ticker AAPL [--epochs N] [--strategy freeze|fine_tune] [...]
    python -m stockagent.cli models | model --ticker AAPL | model-state --ticker AAPL | tickers
    python -m stockagent.cli feature-store-sync --ticker AAPL [--ticker MSFT ...] | feature-store-check --ticker AAPL
    python -m stockagent.cli noop | features --ticker AAPL | embed --text "..."   (benchmark workloads)

An error prints ``{"detail": ..., "error": <class name>}`` on stdout and exits with status 1
(2 for a malformed command line). Logs and training progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from . import diagnostics, errors, runtime
from .entries import agent, forecast

log = logging.getLogger("stockagent.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage to stderr; we answer in JSON too
        print(json.dumps({"detail": f"{self.prog}: {message}", "error": "BadRequest"}))
        sys.exit(2)


def _hparams(p: argparse.ArgumentParser, child: bool) -> None:
    p.add_argument("--epochs", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--start-date", help="first day of training data, YYYY-MM-DD")
    p.add_argument("--end-date", help="last day of training data, YYYY-MM-DD")
    p.add_argument("--promote", choices=("always", "auto"))
    if child:
        p.add_argument("--strategy", choices=("freeze", "fine_tune"))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stockagent", description="Stock forecasting core: one operation, JSON on stdout.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("predict-parent", help="forecast the parent ticker (S&P 500)")
    sub.add_parser("predict-child", help="forecast one ticker").add_argument("--ticker", required=True)
    _hparams(sub.add_parser("train-parent", help="train the parent model"), child=False)
    p = sub.add_parser("train-child", help="train a child model from the parent's weights")
    p.add_argument("--ticker", required=True)
    _hparams(p, child=True)
    sub.add_parser("models", help="list models and versions")
    sub.add_parser("model", help="one model in detail").add_argument("--ticker", required=True)
    sub.add_parser("model-state", help="serving version and data date").add_argument("--ticker", required=True)
    sub.add_parser("tickers", help="symbols with price data")
    sub.add_parser("feature-store-sync", help="write tickers' features into Feast (offline and online)").add_argument(
        "--ticker", dest="tickers", action="append", required=True
    )
    sub.add_parser(
        "feature-store-check", help="online features of the latest day against in-process ones"
    ).add_argument("--ticker", required=True)
    sub.add_parser("noop", help="do nothing: the cost of a process per call")
    sub.add_parser("features", help="compute one ticker's feature frame").add_argument("--ticker", required=True)
    sub.add_parser("embed", help="embed one text").add_argument("--text", required=True)
    return parser


def _request(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The entry function and request of a parsed command line."""
    skip = {"command"}
    req = {k: v for k, v in vars(args).items() if k not in skip and v is not None}
    cmd = args.command
    if cmd == "predict-parent":
        return forecast.predict, {"ticker": "parent"}
    if cmd == "predict-child":
        return forecast.predict, req
    if cmd == "train-parent":
        return forecast.train, {"ticker": "parent", **req}
    if cmd == "train-child":
        return forecast.train, req
    return {
        "models": forecast.models,
        "model": forecast.model,
        "model-state": forecast.model_state,
        "tickers": forecast.tickers,
        "feature-store-sync": forecast.feature_store_sync,
        "feature-store-check": forecast.feature_store_check,
        "noop": diagnostics.noop,
        "features": diagnostics.features,
        "embed": agent.embed,
    }[cmd], req


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    fn, req = _request(args)

    def on_progress(event: dict[str, Any]) -> None:
        print(json.dumps(event), file=sys.stderr, flush=True)

    try:
        with runtime.local_call(on_progress=on_progress):
            out = fn(json.dumps(req).encode())
    except errors.StockAgentError as exc:
        print(json.dumps({"detail": str(exc), "error": type(exc).__name__}))
        return 1
    except Exception as exc:  # the traceback goes to stderr, a short detail to stdout
        log.exception("%s failed", args.command)
        print(json.dumps({"detail": f"internal error: {type(exc).__name__}: {exc}", "error": "InternalError"}))
        return 1
    sys.stdout.write(out.decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
