"""Two-sample distribution tests: the mean shift, PSI and Kolmogorov-Smirnov.

Each takes a reference sample and a current sample (1-D, finite values) and returns plain floats.

- **Mean shift** ``|mean(cur) - mean(ref)| / std(ref)``: how many reference standard deviations the
  mean moved (the old service's per-feature drift score, docs/api.md "Monitoring").
- **PSI**, the population stability index: the reference is cut into ``bins`` quantile bins, closed
  on the right (tied quantiles merge bins, and a point mass stays in its own bin), both samples are
  counted into them, each share gets ``eps`` added and the shares are renormalised, then
  ``PSI = sum((cur - ref) * ln(cur / ref))``. Rules of thumb: < 0.1 stable,
  0.1-0.25 moderate shift, > 0.25 large shift (Siddiqi, *Credit Risk Scorecards*, 2006).
- **KS**: ``D = max |F_ref(x) - F_cur(x)|`` and its two-sided p-value, from
  ``scipy.stats.ks_2samp`` (exact for samples of the sizes drift uses, asymptotic beyond). Daily
  market features are autocorrelated, so the p-value overstates the evidence; read it as a ranking,
  not as a test at face value.
"""

from __future__ import annotations

import numpy as np

PSI_BINS = 10
PSI_EPS = 1e-4  # added to every bin's share so an empty bin gives a large but finite term


def _sample(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    assert len(x) > 0, f"{name} sample is empty"
    assert np.isfinite(x).all(), f"{name} sample holds non-finite values"
    return x


def mean_shift(ref, cur) -> float:
    """``|mean(cur) - mean(ref)| / std(ref)`` (sample std); a constant reference counts any change as 1e6 stds."""
    ref, cur = _sample(ref, "reference"), _sample(cur, "current")
    diff = abs(cur.mean() - ref.mean())
    std = sample_std(ref)
    if std <= 1e-12 * max(1.0, abs(ref.mean())):
        return 0.0 if diff <= 1e-12 * max(1.0, abs(ref.mean())) else 1e6
    return float(diff / std)


def sample_std(x) -> float:
    """Standard deviation with ``n - 1`` in the denominator (pandas' default); 0 for one value."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def psi(ref, cur, bins: int = PSI_BINS, eps: float = PSI_EPS) -> float:
    """Population stability index of ``cur`` against ``bins`` quantile bins of ``ref``."""
    ref, cur = _sample(ref, "reference"), _sample(cur, "current")
    assert bins >= 2, f"bins must be >= 2, got {bins}"
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))  # inner edges
    k = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=k) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=k) / len(cur)
    r, c = (r + eps) / (1.0 + k * eps), (c + eps) / (1.0 + k * eps)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_2samp(ref, cur) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic ``D`` and its two-sided p-value."""
    from scipy import stats as sps  # type: ignore[import-untyped]  # late: costs start-up time, no stubs

    result = sps.ks_2samp(_sample(ref, "reference"), _sample(cur, "current"))
    return float(result.statistic), float(result.pvalue)
