"""Forecasts for many tickers in one call, sharing the LSTM forward where the models share an LSTM.

A child trained with the ``freeze`` strategy keeps its parent's LSTM weights unchanged and learns
only its head, so the parent and all its frozen children are one function up to the head. The batch
scales each ticker's window with that ticker's own scalers, runs the shared LSTM once over all of
them, and applies each ticker's head to its own row. Models with weights of their own (``fine_tune``
children, or children of another parent version) form groups of their own: the grouping key is a
digest of the LSTM's weights (predict.py), so the sharing never rests on metadata alone.

The answers are the single forecasts' answers, compact (predict.answer). A ticker that fails (no
prices, no model, too little history) is reported on its own and the others are still answered.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from .. import errors, runtime
from .predict import Inputs, Predictor, answer


@contextlib.contextmanager
def _torch_threads(n: int):
    """Raise this thread's intra-op threads to ``n`` for the shared forward, then restore them."""
    prev = torch.get_num_threads()
    if n != prev:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != prev:
            torch.set_num_threads(prev)


def scaled_outputs(group: list[Inputs], threads: int = 1) -> np.ndarray:
    """The model outputs (n, 63, 5) in the scaled space of each model, for a group whose models share
    one LSTM: one LSTM forward over every window, then each model's head on its own row."""
    first = group[0].loaded.forecaster
    x = np.concatenate([i.loaded.forecaster.scalers.x(i.window.inputs) for i in group])  # (n, 60, 7)
    with torch.inference_mode(), _torch_threads(threads):
        h = first.model.encode(torch.from_numpy(x).to(first.device))  # (n, hidden)
        out = torch.stack([i.loaded.forecaster.model.decode(h[k : k + 1])[0][0] for k, i in enumerate(group)])
    return out.float().cpu().numpy()


# What a ticker's failure means to a batch client, by exception class.
_CODES = {
    errors.BadRequest: "invalid_ticker",
    errors.NotFound: "not_found",
    errors.ModelMissing: "untrained",
    errors.InvalidParameter: "insufficient_data",
}
_NEXT = {"untrained": "; POST /predict-child or /train-child trains it"}


def failure(ticker: str, exc: Exception) -> dict:
    """A ticker's entry when it cannot be forecast: ``{ticker, error, detail}``."""
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "model_error")
    return {"ticker": ticker, "error": code, "detail": str(exc) + _NEXT.get(code, "")}


def forecast_many(predictor: Predictor, refs: list[str], threads: int = 1) -> tuple[list[dict], int]:
    """One entry per ref, in order: ``{"ticker", "result"}`` or a :func:`failure`; and the number of
    LSTM forwards run."""
    entries: list[dict | None] = [None] * len(refs)
    groups: dict[str, list[tuple[int, Inputs]]] = {}
    for k, ref in enumerate(refs):
        runtime.check_cancelled()
        try:
            inputs = predictor.inputs(ref)
        except errors.StockAgentError as exc:
            entries[k] = failure(ref, exc)
            continue
        groups.setdefault(inputs.loaded.encoder, []).append((k, inputs))
    for members in groups.values():
        runtime.check_cancelled()
        group = [i for _, i in members]
        scaled = scaled_outputs(group, threads)
        for (k, i), s in zip(members, scaled):
            pred = i.loaded.forecaster.scalers.y_inverse(s.astype(np.float64))
            try:
                entries[k] = {"ticker": i.ref, "result": answer(i, pred, compact=True)}
            except ValueError as exc:  # non-finite output: this ticker fails, the others stand
                entries[k] = failure(i.ref, exc)
    return entries, len(groups)  # type: ignore[return-value]
