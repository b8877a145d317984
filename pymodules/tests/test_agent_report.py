"""The critic's deterministic checks, the data section, <think> stripping and forecast facts."""

import pytest
from agent_fakes import make_prediction

from stockagent.agent import fields, report, tools
from stockagent.llm import strip_think


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>the user wants BULLISH</think>Report.", "Report."),
        ("<THINK>\nmulti\nline\n</Think>\n\nA <think>x</think>B", "A B"),
        ("reasoning without an opening tag</think>Answer", "Answer"),
        ("Answer <think>cut off by max_tokens", "Answer"),
        ("no tags at all", "no tags at all"),
    ],
)
def test_strip_think(text, expected):
    assert strip_think(text) == expected


def test_forecast_facts_from_a_falling_forecast():
    facts = tools.forecast_facts(make_prediction(move_63_pct=-9.0), band_pct=1.0)
    assert facts["last_close"] == 100.0 and facts["direction"] == "down" and facts["direction_days"] == 21
    assert facts["horizons"]["21"]["move_pct"] == pytest.approx(-3.1, abs=0.05)
    assert facts["horizons"]["63"]["move_pct"] == pytest.approx(-9.0, abs=0.01)
    assert facts["horizons"]["5"]["direction"] == "flat"  # -0.75% is inside the +-1% band
    assert facts["accuracy"]["21"] == {
        "model_mae": 9.1,
        "naive_mae": 9.5,
        "vs_naive_pct": pytest.approx(-4.2, abs=0.05),
    }
    assert facts["beats_naive"] is True
    text = tools.format_facts(facts)
    assert "$96.91" in text and "DOWN" in text and "beats the naive baseline" in text
    assert tools.forecast_facts(make_prediction(move_63_pct=9.0))["direction"] == "up"
    assert tools.forecast_facts(make_prediction(move_63_pct=0.5))["direction"] == "flat"
    with pytest.raises(ValueError):
        tools.forecast_facts({"predictions": {}, "history": []})


def test_check_finds_a_contradiction_and_missing_fields():
    facts = tools.forecast_facts(make_prediction(move_63_pct=-9.0))
    codes = lambda **kw: [p["code"] for p in report.check(fields.Fields(**kw), facts)]  # noqa: E731
    assert codes(stance="BEARISH", confidence="Medium") == []
    assert codes(stance="BULLISH", confidence="High") == ["stance_contradicts_forecast"]
    assert codes(stance="BULLISH", confidence="Low", rationale="a new product launch outweighs it") == []
    assert codes(stance="BULLISH", confidence="Low", rationale="because") == ["stance_contradicts_forecast"]
    assert codes() == ["no_stance", "no_confidence"]


def test_data_section_renders_the_facts_and_quotes_feed_text_literally():
    facts = tools.forecast_facts(make_prediction(move_63_pct=-9.0))
    headlines = [
        {"title": "**Buy** [now](javascript:alert(1)) <b>x</b>", "publisher": "_Wire_", "url": "javascript:x"},
        {"title": "Plain", "publisher": "", "url": "https://example.com/a b", "published": "2025-01-02T10:00:00Z"},
    ]
    text = report.data_section(facts, headlines, "finnhub")
    assert text.startswith(report.DATA_HEADING) and "**TEST** last closed at **$100.00**" in text
    assert "- **1 month (21 trading days)**, 2025-01-23: $96.91, -3.1% (down); 80% range $92.46 to $101.35" in text
    assert "- 21 trading days: model $9.10, no change $9.50 (4.2% better)" in text
    assert "**News:** Finnhub: 2 headlines." in text
    assert "- \\*\\*Buy\\*\\* \\[now\\](javascript:alert(1)) \\<b\\>x\\</b\\> (\\_Wire\\_)" in text
    assert "- Plain (2025-01-02)" in text  # a link with a space is no link
    assert "(javascript:x)" not in text  # an unsafe target is no link
    empty = report.data_section(facts, [], "none")
    assert "**News:** no news available offline" in empty


@pytest.mark.parametrize(
    "text, sentiment",
    [
        ("Sentiment: positive\nGood.", "positive"),
        ("**Sentiment**: NEGATIVE because of the probe", "negative"),
        ("Sentiment - neutral", "mixed"),
        ("The tone is mixed overall.", "mixed"),
        ("Positive and negative news.", "unclear"),
        ("I cannot tell.", "unclear"),
    ],
)
def test_parse_sentiment(text, sentiment):
    assert report.parse_sentiment(text) == sentiment


def test_drift_facts_state_the_check_and_its_thresholds():
    record = {
        "health": "Critical (Drift Detected)",
        "timestamp": "2026-03-02T14:05:09",  # without a zone it is read as UTC
        "model_version": "v2",
        "drift_score": 2.345678,
        "volatility_index": 0.912345,
        "current": {"rows": 60},
        "feature_metrics": {"Close": {"psi": 0.123456}},  # per-feature numbers are not facts of the report
    }
    d = tools.drift_facts(record)
    assert (d["checked"], d["drift_score"], d["volatility_ratio"], d["window_days"]) == (
        "2026-03-02 14:05 UTC",
        2.35,
        0.91,
        60,
    )
    facts = {**tools.forecast_facts(make_prediction()), "drift": d}
    text = report.data_section(facts, [], "none")
    assert (
        "(checked 2026-03-02 14:05 UTC, on model version v2, not the forecast's): **Critical (Drift Detected)**."
        in text
    )
    assert "- Drift score 2.35 (degraded above 1, critical above 2)." in text
    known = fields.known_numbers(facts)
    assert {2.35, 0.91, 60.0, 2.5, 0.4}.issubset(known) and 0.123456 not in known
    assert tools.drift_facts(None) is None
    for bad, error in [({**record, "health": None}, ValueError), ({"health": "Healthy"}, KeyError)]:
        with pytest.raises(error):
            tools.drift_facts(bad)
