"""The serving choice: the LSTM's predicted returns shrunk toward "no change", fitted on validation.

For each horizon h, the weight ``w_h`` in [0, 1] that minimises the squared error of ``w_h * p``
against the actual close log return ``y`` over the validation windows has the closed form
``w_h = clip(sum(p * y) / sum(p * p), 0, 1)``. ``w_h = 1`` serves the LSTM as it is, ``w_h = 0``
serves the naive forecast (the last close): the LSTM keeps only the share of its predicted move
that validation says is real. The open/high/low returns are scaled by the same weight (they are
returns to the same last close); the volume is the LSTM's.

Why this and not the best-evaluated of every model: it is chosen on the validation windows alone
(the test windows only score it), and it serves in microseconds (a multiply). The statistical
models (statmodels.py) are scored beside it but not served, since fitting one at request time
costs 0.05-0.4 s per ticker.
"""

from __future__ import annotations

import numpy as np

from .dataset import TARGETS, Windows

CLOSE = TARGETS.index("close")

METHOD = (
    "the LSTM's predicted returns times a per-horizon weight in [0, 1] (least squares on the "
    "validation windows' close log returns): 0 is 'no change', 1 the LSTM as it is"
)


def fit(windows: Windows, predicted: np.ndarray) -> np.ndarray:
    """Weights (63,) from validation ``windows`` and the LSTM's predictions (m, 63, 5) for them."""
    assert windows.targets is not None, "the weights are fitted on windows with targets"
    return weights(predicted[..., CLOSE], windows.targets[..., CLOSE])


def weights(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Weights per column from predicted and actual close log returns, both (m, horizons)."""
    p, y = predicted.astype(np.float64), actual.astype(np.float64)
    num, den = (p * y).sum(axis=0), (p * p).sum(axis=0)
    w = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.clip(w, 0.0, 1.0)


def apply(predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``predicted`` (m, 63, 5) with its open/high/low/close returns scaled by ``weights``: (63,)
    for every row, or (m, 63), one set per row (a batch of models)."""
    out = np.array(predicted, dtype=np.float64, copy=True)
    out[..., :4] *= weights[..., None]
    return out
