"""Drift statistics on known inputs, and the old health thresholds on a table of cases."""

import json
from pathlib import Path

import numpy as np
import pytest

from stockagent.monitoring import drift, stats


def _normal(n, seed=0, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, n)


def test_identical_samples_show_no_drift():
    x = _normal(2000)
    assert stats.psi(x, x) == pytest.approx(0.0, abs=1e-12)
    assert stats.ks_2samp(x, x) == (0.0, 1.0)
    assert stats.mean_shift(x, x) == 0.0


def test_disjoint_samples_show_large_drift():
    ref, cur = _normal(2000), _normal(60, seed=1) + 100
    assert stats.psi(ref, cur) > 5  # every current value in the top bin: ~8.3 with eps 1e-4
    d, p = stats.ks_2samp(ref, cur)
    assert d == 1.0 and p < 1e-12
    assert stats.mean_shift(ref, cur) == pytest.approx(100 / ref.std(ddof=1), rel=0.01)


def test_same_distribution_is_not_rejected_and_a_shift_is():
    ref = _normal(3000)
    d, p = stats.ks_2samp(ref, _normal(60, seed=2))
    assert d < 0.2 and p > 0.05
    assert stats.psi(ref, _normal(3000, seed=3)) < 0.02
    d, p = stats.ks_2samp(ref, _normal(200, seed=4, loc=1.0))
    assert d > 0.3 and p < 1e-6
    assert stats.psi(ref, _normal(200, seed=4, loc=1.0)) > 0.25


def test_mean_shift_is_in_reference_stds():
    ref = np.array([0.0, 2.0, 4.0])  # mean 2, sample std 2
    assert stats.mean_shift(ref, np.array([6.0, 8.0])) == pytest.approx(2.5)
    assert stats.mean_shift(np.ones(5), np.ones(3)) == 0.0  # a constant reference, unchanged
    assert stats.mean_shift(np.ones(5), np.full(3, 2.0)) == 1e6  # finite, and far over any threshold


def test_psi_handles_tied_reference_quantiles():
    ref = np.r_[np.zeros(900), np.arange(100.0)]  # nine of ten deciles are 0: bins merge
    assert stats.psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert stats.psi(ref, np.full(50, 1000.0)) > 1


@pytest.mark.parametrize(
    "ref, cur, d, p",
    [
        # Disjoint samples of 3 and 3 (5 and 5): only the two orderings that separate them are as
        # extreme, so p = 2 / C(6, 3) (2 / C(10, 5)).
        ([1, 2, 3], [4, 5, 6], 1.0, 2 / 20),
        ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 1.0, 2 / 252),
        # Interleaved 4 and 4: D = 1/4, and every ordering is at least as extreme.
        ([1, 3, 5, 7], [2, 4, 6, 8], 0.25, 1.0),
    ],
)
def test_ks_known_values(ref, cur, d, p):
    got_d, got_p = stats.ks_2samp(ref, cur)
    assert got_d == pytest.approx(d) and got_p == pytest.approx(p)


def test_ks_pvalue_is_calibrated_under_the_null():
    rng = np.random.default_rng(5)
    ps = np.array([stats.ks_2samp(rng.standard_normal(400), rng.standard_normal(60))[1] for _ in range(400)])
    assert 0.01 < (ps < 0.05).mean() < 0.10


@pytest.mark.parametrize(
    "score, ratio, expected",
    [
        (0.0, 1.0, drift.HEALTHY),
        (1.0, 1.5, drift.HEALTHY),  # thresholds are strict: equal is still the better level
        (1.0, 0.6, drift.HEALTHY),
        (1.0001, 1.0, drift.DEGRADED),
        (0.5, 1.5001, drift.DEGRADED),
        (0.5, 0.5999, drift.DEGRADED),
        (2.0, 2.5, drift.DEGRADED),
        (2.0, 0.4, drift.DEGRADED),
        (2.0001, 1.0, drift.CRITICAL),
        (0.0, 2.5001, drift.CRITICAL),
        (0.0, 0.3999, drift.CRITICAL),
        (5.0, 0.1, drift.CRITICAL),
    ],
)
def test_health_thresholds(score, ratio, expected):
    assert drift.health(score, ratio) == expected


def test_health_levels_are_the_documented_ones():
    """The levels reach clients as DriftReport.health: three distinct labels, the HTTP contract's enum."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "server/httpapi/openapi.json").read_text())
    assert doc["components"]["schemas"]["DriftReport"]["properties"]["health"]["enum"] == [
        drift.HEALTHY,
        drift.DEGRADED,
        drift.CRITICAL,
    ]
