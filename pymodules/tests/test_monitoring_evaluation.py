"""Agent evaluation: checks that fail on contradictions, missing citations and bad structure."""

import json

import pytest

from stockagent import errors
from stockagent.monitoring import evaluation

CHECKS = [
    "relevance",
    "prices_agree",
    "stance_agrees",
    "news_cited",
    "structure",
    "trustworthiness",
    "has_recommendation",
]


def prediction(last=100.0, change=-0.05, ticker="AAPL"):
    """A <prediction> whose close moves linearly by ``change`` over 63 days (history flat at ``last``)."""
    rows = []
    for h in range(1, 64):
        close = last * (1 + change * h / 21)
        rows.append(
            {
                "date": f"d{h}",
                "open": close,
                "high": close * 1.01,
                "low": close * 0.99,
                "close": close,
                "volume": 1000,
                "close_low": close * 0.95,
                "close_high": close * 1.05,
            }
        )
    return {
        "ticker": ticker,
        "last_date": "2024-12-31",
        "model_version": "v1",
        "predictions": {
            "next_day": rows[0],
            "week": rows[:5],
            "month": rows[:21],
            "quarter": rows,
            "full_forecast": rows,
        },
        "history": [{"date": f"h{i}", "close": last} for i in range(90)],
    }


NEWS = {
    "source": "yahoo",
    "headlines": [
        {"title": "Apple cuts iPhone production forecast amid weak China demand", "publisher": "Reuters"},
        {"title": "Analysts debate services growth", "publisher": "Bloomberg"},
    ],
}
NO_NEWS = {"source": "none", "headlines": []}

GOOD = """## AAPL outlook

Apple (AAPL) last closed at $100.00. The LSTM model forecasts a decline of about 5% over the next 21
trading days, to roughly $95.00, with its 80% interval between $90.25 and $99.75.

The news is soft: Reuters reports that Apple cut its iPhone production forecast on weak China demand,
which matches the falling forecast.

Taken together, the forecast and the headlines point lower, so we would wait before adding. This
report is not investment advice.

Market Stance: BEARISH
Confidence: Medium
"""

CONTRADICTING = """## AAPL outlook

Apple (AAPL) last closed at $100.00 and momentum looks strong. We expect the shares to climb toward
$110 in the coming weeks as buyers return.

The news is soft: Reuters reports that Apple cut its iPhone production forecast on weak China demand.

Overall this looks like a good time to accumulate. This report is not investment advice.

**Market Stance:** BULLISH
**Confidence:** High
"""

JUSTIFIED = CONTRADICTING.replace(
    "Overall this looks like a good time to accumulate.",
    "Despite the model's forecast of a 5% decline, we stay\nbullish: the forecast ignores the product cycle.",
)  # wrapped


def analysis_predictions(pred):
    """What /analyze answers as ``predictions``: the views beside the history and the other fields."""
    return {**{k: v for k, v in pred.items() if k != "predictions"}, **pred["predictions"]}


def report(text, change=-0.05, news=NEWS, recommendation=None, ticker="AAPL"):
    return {
        "ticker": ticker,
        "final_report": text,
        "recommendation": recommendation,
        "confidence": "Medium",
        "predictions": analysis_predictions(prediction(change=change, ticker=ticker)),
        "news": news,
        "news_sentiment": "negative",
        "last_price": 100.0,
        "flags": [],
        "parse_status": "ok",
        "created_at": "2025-01-02T10:00:00Z",
    }


def checks(r):
    return evaluation.evaluate_report(r)["metrics"]["check_details"]


def test_a_good_report_passes_every_check():
    out = evaluation.evaluate_report(report(GOOD, recommendation="BEARISH"))
    m = out["metrics"]
    assert m["checks"] == dict.fromkeys(CHECKS, True)  # {name: passed}, as the old service's clients read it
    assert list(m["check_details"]) == CHECKS
    assert all(c["passed"] and c["score"] == 1.0 for c in m["check_details"].values()), m["check_details"]
    assert m["overall_score"] == 1.0 and m["status"] == "Trustworthy" and m["failed_checks"] == []
    assert out["ticker"] == "AAPL" and out["output_preview_text"] == GOOD[:500]
    assert out["forecast"]["expected_stance"] == "BEARISH" and out["forecast"]["change_21d"] == pytest.approx(-0.05)
    assert m["duration_seconds"] >= 0 and m["timestamp"].endswith("+00:00")
    json.dumps(out, allow_nan=False)


def test_a_stance_against_the_forecast_fails_and_lowers_the_score():
    good = evaluation.evaluate_report(report(GOOD))["metrics"]
    bad = evaluation.evaluate_report(report(CONTRADICTING))["metrics"]
    stance = bad["check_details"]["stance_agrees"]
    assert not stance["passed"] and stance["score"] == 0.0
    assert "BULLISH" in stance["detail"] and "BEARISH" in stance["detail"]
    assert bad["checks"]["stance_agrees"] is False and bad["checks"]["prices_agree"] is False
    assert not bad["check_details"]["prices_agree"]["passed"]  # it says "climb" about a falling forecast
    assert bad["overall_score"] < good["overall_score"]
    assert {"stance_agrees", "prices_agree"} <= set(bad["failed_checks"])


def test_a_stance_against_the_forecast_with_a_reason_passes():
    stance = checks(report(JUSTIFIED))["stance_agrees"]
    assert stance["passed"] and stance["score"] == evaluation.JUSTIFIED_SCORE


def test_neutral_against_a_direction_fails_softly_and_a_flat_forecast_wants_neutral():
    neutral = CONTRADICTING.replace("BULLISH", "NEUTRAL")
    stance = checks(report(neutral))["stance_agrees"]
    assert not stance["passed"] and stance["score"] == 0.25
    assert checks(report(neutral, change=0.005))["stance_agrees"]["passed"]  # +0.5% in 21 days is flat
    assert checks(report(CONTRADICTING, change=0.03))["stance_agrees"]["passed"]  # +3%: bullish is right


def test_stance_line_and_recommendation_field_must_agree():
    stance = checks(report(GOOD, recommendation="BULLISH"))["stance_agrees"]
    assert not stance["passed"] and stance["score"] == 0.5
    text = GOOD.replace("Market Stance: BEARISH\n", "")
    assert checks(report(text, recommendation="BEARISH"))["stance_agrees"]["passed"]  # the field alone


def test_higher_and_below_are_not_stances():
    text = "AAPL could trade higher next month, though it sits below its 50-day average at $100.\n\nConfidence: High\n"
    c = checks(report(text))
    assert not c["has_recommendation"]["passed"] and not c["stance_agrees"]["passed"]
    assert c["stance_agrees"]["detail"].startswith("no stance")
    assert evaluation.stated_stance(text, "HIGH") == (None, None)


def test_news_must_be_cited_when_there_was_news():
    uncited = GOOD.replace(
        "The news is soft: Reuters reports that Apple cut its iPhone production forecast on weak China demand,\n"
        "which matches the falling forecast.",
        "Sentiment looks cautious overall, in line with the forecast.",
    )
    assert uncited != GOOD
    news = checks(report(uncited))["news_cited"]
    assert not news["passed"] and news["score"] == 0.0 and "2 headline(s)" in news["detail"]
    # a headline's key words are enough, without naming the publisher
    keywords = uncited.replace("Sentiment looks cautious overall", "Weak China demand hit iPhone production")
    assert checks(report(keywords))["news_cited"]["passed"]


def test_no_news_must_be_said():
    says = GOOD.replace(
        "The news is soft: Reuters reports that Apple cut its iPhone production forecast on weak China demand,\n"
        "which matches the falling forecast.",
        "There were no recent headlines for Apple, so the forecast stands alone.",
    )
    assert checks(report(says, news=NO_NEWS))["news_cited"]["passed"]
    invented = checks(report(GOOD, news=NO_NEWS))["news_cited"]  # cites Reuters when there was no news
    assert not invented["passed"]
    assert not checks(report(GOOD, news=None))["news_cited"]["passed"]


def test_prices_must_lie_near_the_forecast():
    far = GOOD.replace("to roughly $95.00", "to roughly $150.00")
    c = checks(report(far))["prices_agree"]
    assert not c["passed"] and 0.5 < c["score"] < 1 and "150" in c["detail"]
    assert evaluation.quoted_prices("closed at $229.87, a $3.4 trillion company; 12% up; 240 USD; $1,234.5") == [
        229.87,
        240.0,
        1234.5,
    ]
    no_forecast = report(GOOD)
    no_forecast["predictions"] = None
    c = checks(no_forecast)
    assert not c["prices_agree"]["passed"] and not c["stance_agrees"]["passed"]


def test_structure():
    assert checks(report(GOOD))["structure"]["score"] == 1.0
    one_paragraph = (
        "AAPL: the model forecasts a decline to $95. Not investment advice.\n\n"
        "Market Stance: BEARISH\nConfidence: Low\n"
    )
    c = checks(report(one_paragraph))["structure"]
    assert not c["passed"] and c["score"] == pytest.approx(2 / 3, abs=1e-3) and "1 paragraphs" in c["detail"]
    no_ending = GOOD.replace("Market Stance: BEARISH\nConfidence: Medium\n", "")
    assert checks(report(no_ending))["structure"]["score"] == pytest.approx(2 / 3, abs=1e-3)
    no_disclaimer = GOOD.replace(" This\nreport is not investment advice.", "")
    assert checks(report(no_disclaimer))["structure"]["score"] == pytest.approx(2 / 3, abs=1e-3)
    trailing = GOOD + "\n---\n*This is not financial advice.*\n"  # a disclaimer after the stance lines is fine
    assert checks(report(trailing))["structure"]["passed"]


def test_relevance_and_old_checks():
    assert not checks(report(GOOD.replace("AAPL", "the stock")))["relevance"]["passed"]
    assert checks(report(GOOD.replace("AAPL", "S&P 500"), ticker="^GSPC"))["relevance"]["passed"]
    c = checks(report("Looks fine.", change=0.0))
    assert c["trustworthiness"]["score"] == 0.0 and not c["relevance"]["passed"]
    m = evaluation.evaluate_report(report("Looks fine."))["metrics"]
    assert m["status"] == "Questionable" and m["overall_score"] <= 0.6


@pytest.mark.parametrize(
    "score, expected", [(1.0, "Trustworthy"), (0.61, "Trustworthy"), (0.6, "Questionable"), (0.0, "Questionable")]
)
def test_status(score, expected):
    assert evaluation.status(score) == expected


def test_run_evaluation_reads_the_stored_report(tmp_settings):
    with pytest.raises(errors.NotFound, match="No stored report for 'AAPL'"):
        evaluation.run_evaluation(tmp_settings, "AAPL")
    with pytest.raises(errors.NotFound, match="No agent evaluation for 'AAPL' yet"):
        evaluation.latest_evaluation(tmp_settings, "AAPL")
    folder = tmp_settings.data_dir / "reports"
    folder.mkdir(parents=True)
    (folder / "AAPL.json").write_text(json.dumps(report(GOOD)))
    (folder / "GSPC.json").write_text(json.dumps(report(GOOD.replace("AAPL", "S&P 500"), ticker="^GSPC")))
    out = evaluation.run_evaluation(tmp_settings, "AAPL")
    assert out["ticker"] == "AAPL" and out["model"] == "AAPL" and out["metrics"]["status"] == "Trustworthy"
    assert evaluation.latest_evaluation(tmp_settings, "AAPL") == out
    parent = evaluation.run_evaluation(tmp_settings, "parent")  # the parent's report is its symbol's
    assert parent["ticker"] == "parent" and parent["symbol"] == "^GSPC" and parent["model"] == "parent"
    assert (tmp_settings.data_dir / "monitoring" / "parent" / "eval_latest.json").is_file()
    again = evaluation.run_evaluation(tmp_settings, "AAPL")
    assert evaluation.evaluation_history(tmp_settings, "AAPL", 5) == [again, out]
    (folder / "MSFT.json").write_text("{not json")
    with pytest.raises(errors.NotFound, match="No readable stored report"):
        evaluation.run_evaluation(tmp_settings, "MSFT")


def test_a_report_stored_with_the_nested_forecast_still_evaluates():
    older = report(GOOD, recommendation="BEARISH")
    older["predictions"] = prediction()  # the views one level deeper, as predict answers them
    m = evaluation.evaluate_report(older)["metrics"]
    assert m["failed_checks"] == [] and m["overall_score"] == 1.0, m["check_details"]


def test_an_evaluation_stored_with_detailed_checks_reads_back_with_booleans(tmp_settings):
    from stockagent.monitoring import store

    older = evaluation.evaluate_report(report(CONTRADICTING))
    details = older["metrics"].pop("check_details")
    older["metrics"]["checks"] = details  # the shape evaluations were stored in before
    store.save(tmp_settings, "AAPL", evaluation.KIND, older, 10)
    m = evaluation.latest_evaluation(tmp_settings, "AAPL")["metrics"]
    assert m["checks"]["stance_agrees"] is False and m["checks"]["relevance"] is True
    assert m["check_details"] == details
    assert evaluation.evaluation_history(tmp_settings, "AAPL", 5)[0]["metrics"]["checks"] == m["checks"]


# The layout agent/graph.py's finalize gives a report: the analyst's body, a News line, the stance
# and confidence lines, any flags, and the reminder.
BODY = """AAPL last closed at $100.00. The model forecasts a decline of about 5% over the next 21 trading
days, to roughly $95.00; its held-out error at that horizon is $4.10 against $4.20 for the naive forecast.

The model beats the naive baseline only slightly, so the forecast is a weak signal.

Reuters reports that Apple cut its iPhone production forecast on weak China demand, which supports a
lower price; the main risk is a strong product launch."""
NEWS_LINE = "**News:** Yahoo Finance: 2 headlines, sentiment negative."
NO_NEWS_LINE = "**News:** no news available offline (no headlines were fetched)."
REMINDER = "_Not investment advice: written by a language model from a statistical forecast, which can be wrong._"


def agent_report(body=BODY, news_line=NEWS_LINE, stance="BEARISH", flags=(), **kw):
    parts = [body, news_line, f"Market Stance: {stance}\nConfidence: Medium"]
    if flags:
        parts.append("\n".join(f"> Flag: {f}" for f in flags))
    parts.append(REMINDER)
    return report("\n\n".join(parts), recommendation=stance.split()[0], **kw)


def test_the_agents_layout_passes():
    r = agent_report()
    r["predictions"]["evaluation"] = {"mae": {"lstm": {"21": 4.1}, "naive": {"21": 4.2}}}
    m = evaluation.evaluate_report(r)["metrics"]
    assert m["failed_checks"] == [] and m["overall_score"] == 1.0, m["check_details"]
    # the dollar MAEs of the forecast's evaluation are known numbers; without them they are stray prices
    c = checks(agent_report())["prices_agree"]
    assert not c["passed"] and "outside: 4.1, 4.2" in c["detail"]


def test_the_agents_own_news_line_is_no_citation():
    body = BODY.replace(
        "Reuters reports that Apple cut its iPhone production forecast on weak China demand, "
        "which supports a\nlower price",
        "Sentiment is cautious",
    )
    assert body != BODY
    c = checks(agent_report(body=body))  # only the News line names Yahoo Finance
    assert not c["news_cited"]["passed"]
    says_none = checks(agent_report(body=body, news_line=NO_NEWS_LINE, news=NO_NEWS))
    assert says_none["news_cited"]["passed"]  # without headlines, the News line saying so is enough


def test_a_stance_rationale_line_is_a_reason_and_flags_do_not_break_the_ending():
    rationale = BODY + "\n\nStance rationale: the product cycle should lift demand within weeks."
    c = checks(agent_report(body=rationale, stance="BULLISH"))
    assert c["stance_agrees"]["passed"] and c["stance_agrees"]["score"] == evaluation.JUSTIFIED_SCORE
    assert c["structure"]["passed"]  # the rationale line is no extra paragraph
    overridden = agent_report(
        stance="NEUTRAL (overridden: the report's BULLISH contradicted the forecast without a reason)",
        flags=[
            "stance contradicts forecast; overridden to NEUTRAL "
            "(the report said BULLISH, the 21-day forecast is down -5.0%)"
        ],
    )
    c = checks(overridden)
    assert c["structure"]["passed"] and not c["stance_agrees"]["passed"] and c["stance_agrees"]["score"] == 0.25


LAID_OUT = """### From the data
_Computed from the forecast and the news feed; no language model wrote this part._

- Last close: $100.00 (2025-01-02)
- Forecast, 21 trading days: $95.00 (80% range $90.25 to $99.75), down 5.0%
- Reuters, 2025-01-02: Apple cuts iPhone production forecast on weak China demand

### From the language model
_Short fields written by SmolLM2 under a fixed schema, each checked against the data above._

- {reason}

This report is not investment advice.

Market Stance: BEARISH
Confidence: Medium
"""


def test_a_report_laid_out_by_code_is_judged_on_the_model_part():
    good = checks(
        report(LAID_OUT.format(reason="Weak iPhone demand in China points to a decline."), recommendation="BEARISH")
    )
    assert good["structure"]["passed"], good["structure"]["detail"]
    assert "data section, then the model's: yes" in good["structure"]["detail"]
    assert good["prices_agree"]["passed"] and good["news_cited"]["passed"]
    # The data section names the headline and the falling forecast; the model's part does neither.
    bad = checks(report(LAID_OUT.format(reason="The shares should climb higher from here."), recommendation="BEARISH"))
    assert not bad["prices_agree"]["passed"], bad["prices_agree"]["detail"]
    assert not bad["news_cited"]["passed"], bad["news_cited"]["detail"]
    assert bad["structure"]["passed"]
    swapped = LAID_OUT.replace("### From the data", "### Data").format(reason="Demand is weak.")
    assert not checks(report(swapped, recommendation="BEARISH"))["structure"]["passed"]
