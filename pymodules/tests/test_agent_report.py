"""The strict stance parse, the critic's deterministic checks, <think> stripping and forecast facts."""

import pytest
from agent_fakes import make_prediction

from stockagent.agent import report, tools
from stockagent.llm import strip_think


@pytest.mark.parametrize(
    "text, stance, confidence",
    [
        ("Market Stance: BULLISH\nConfidence: High", "BULLISH", "High"),
        ("market stance: bearish\nconfidence: medium", "BEARISH", "Medium"),
        ("**Market Stance:** Neutral\n**Confidence**: LOW", "NEUTRAL", "Low"),
        ("- Market Stance - BuLLiSh\n> Confidence level: hIgH.", "BULLISH", "High"),
        # words that contain or resemble a label's value are never read as one
        ("The price should go higher, from below $90. We are highly confident.", None, None),
        ("Market Stance: Bullishness abounds\nConfidence: Highly uncertain", None, None),
        ("Market Stance: higher\nConfidence: below average", None, None),
        ("HIGH hopes. The stock is BULLISH in tone.\nConfidence in the model is low.", None, None),
        # ambiguous lines name no single value; the last qualifying line wins
        ("Market Stance: BULLISH or BEARISH\nConfidence: High or Low", None, None),
        ("Market Stance: BULLISH\nMarket Stance: BEARISH\nConfidence: Low\nConfidence: Medium", "BEARISH", "Medium"),
        ("", None, None),
    ],
)
def test_parse_reads_only_whole_labelled_words(text, stance, confidence):
    parsed = report.parse(text)
    assert (parsed.stance, parsed.confidence) == (stance, confidence)


def test_strip_labels_and_rationale():
    text = (
        "Body one.\n\nStance rationale: strong orders outweigh the model's small drop\n"
        "Market Stance: BULLISH\n**Confidence:** Low"
    )
    assert report.strip_labels(text) == "Body one.\n\nStance rationale: strong orders outweigh the model's small drop"
    parsed = report.parse(text)
    assert parsed.rationale.startswith("strong orders") and report.has_reason(parsed)
    assert not report.has_reason(report.parse("Stance rationale: because\nMarket Stance: BULLISH"))


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


def test_check_finds_contradiction_prices_and_missing_lines():
    facts = tools.forecast_facts(make_prediction(move_63_pct=-9.0))
    codes = lambda text: [p["code"] for p in report.check(text, facts)]  # noqa: E731
    assert codes("Closed at $100.00, heading to $96.91.\nMarket Stance: BEARISH\nConfidence: Medium") == []
    assert codes("Closed at $100.\nMarket Stance: BULLISH\nConfidence: High") == ["stance_contradicts_forecast"]
    assert (
        codes("Stance rationale: a new product launch outweighs the forecast\nMarket Stance: BULLISH\nConfidence: Low")
        == []
    )
    assert codes("Target $150.00 and $1,234.\nMarket Stance: NEUTRAL\nConfidence: Low") == ["unsupported_price"]
    assert codes("It will go higher.") == ["no_stance_line", "no_confidence_line"]
    assert report.unsupported_prices("at $100.40 or $ 96.9", facts["known_prices"]) == []


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
