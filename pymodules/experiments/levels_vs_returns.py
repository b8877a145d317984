"""Experiment behind model.py's choice of target space: the same LSTM trained to predict price
levels (standardised with training statistics, as the old system did) against our log-return
targets, both scored on the close of the held-out test windows. Not part of the package.

    .venv/bin/python pymodules/experiments/levels_vs_returns.py [SYMBOL] [START] [EPOCHS]
"""

import copy
import dataclasses
import sys

import numpy as np
import torch

from stockagent.forecast import dataset, evaluation, train
from stockagent.forecast.dataset import CONTEXT, HORIZON, Scalers
from stockagent.forecast.model import LSTMConfig, LSTMForecaster, LSTMModel
from stockagent.market import prices
from stockagent.settings import Settings


def main(symbol: str = "^GSPC", start: str = "2004-08-19", epochs: int = 8) -> None:
    settings = Settings(data_dir="/tmp/levels-vs-returns", data_source="bundled")
    p = prices.load(symbol, settings)
    data = dataset.split(p, start)
    feats = p.features

    def level_xy(w):  # raw features in, close levels out
        x = feats[w.ends[:, None] + np.arange(-CONTEXT + 1, 1)].copy()
        x[..., 4] = np.log(x[..., 4])
        return x, feats[w.ends[:, None] + np.arange(1, HORIZON + 1), 3]

    (xtr, ytr), (xva, yva), (xte, yte) = (level_xy(w) for w in (data.train, data.val, data.test))
    flat = xtr.reshape(-1, xtr.shape[-1])
    xm, xs, ym, ys = flat.mean(0), flat.std(0), ytr.mean(), ytr.std()
    X = lambda a: torch.from_numpy(((a - xm) / xs).astype(np.float32))  # noqa: E731
    Y = lambda a: torch.from_numpy(((a - ym) / ys).astype(np.float32)[..., None])  # noqa: E731

    train.seed_everything(1337)
    model = LSTMModel(LSTMConfig(n_targets=1))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    rng = np.random.default_rng(1337)
    xt, yt, xv, yv = X(xtr), Y(ytr), X(xva), Y(yva)
    best, best_state = float("inf"), None
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(xt)))
        for i in range(0, len(xt), 64):
            b = order[i : i + 64]
            _, loss = model(xt[b], yt[b])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        val = train.estimate_loss(model, xv, yv)
        if val < best:
            best, best_state = val, copy.deepcopy(model.state_dict())
        print(f"levels epoch {epoch}: val loss {val:.4f}", flush=True)
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        levels = model(X(xte))[0][..., 0].numpy() * ys + ym

    cfg = dataclasses.replace(
        train.make_config(settings, "parent", epochs=epochs, start_date=start), ticker=symbol, patience=epochs
    )
    scalers = Scalers.fit(data.train)
    net, _ = train.fit(cfg, data, scalers)
    returns = evaluation.close_prices(data.test, LSTMForecaster(net, scalers).predict(data.test))
    naive = np.repeat(data.test.close[:, None], HORIZON, axis=1)

    print(
        f"{symbol} from {start}, {epochs} epochs, test {data.info['test']['first_cutoff']}.."
        f"{data.info['test']['last_target']}: close MAE"
    )
    for h in evaluation.HORIZONS:
        maes = [np.abs(a[:, h - 1] - yte[:, h - 1]).mean() for a in (levels, returns, naive)]
        print(f"h={h:2d}  levels {maes[0]:9.2f}  returns {maes[1]:9.2f}  naive {maes[2]:9.2f}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    args = sys.argv[1:]
    main(*(args[:2]), *(int(a) for a in args[2:3]))
