"""The model's fields: their schema, their parse, and the checks with hand-made bad outputs."""

import json

import pytest
from agent_fakes import HEADLINES, make_prediction

from stockagent.agent import fields, tools

FACTS = tools.forecast_facts(make_prediction(move_63_pct=-9.0))
KNOWN = fields.known_numbers(FACTS, HEADLINES)


def why(text, ticker="TEST", seen=None, max_chars=fields.REASON_CHARS, allowed=frozenset(), sentence=True):
    return fields.problem(
        text,
        ticker=ticker,
        known=KNOWN,
        seen=set() if seen is None else seen,
        max_chars=max_chars,
        allowed_words=allowed,
        sentence=sentence,
    )


@pytest.mark.parametrize(
    "text",
    [
        "TEST last closed at $100.00 and may reach $96.91 by 2025-01-23.",
        "The one-month forecast is -3.1%, inside an 80% range of $92.46 to $101.35.",
        "Its error of $9.10 is 4.2% below that of no change ($9.50).",
        "The range held 83% of outcomes against a target of 80%.",
        "The model expects about $97 in 21 trading days.",  # a rounding of $96.91
        "Over 63 days it sees a 9% fall, and its error ratio is 0.96.",
        "The NEUTRAL view fits a CEO change at $TEST.",
    ],
)
def test_good_fields_pass(text):
    assert why(text) is None


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Trend: 79.6% to CAPEX +5%.", "number the data does not contain"),
        ("The price will reach $150.00 soon.", "number the data does not contain"),
        ("It may fall 3.2% in a month.", "number the data does not contain"),  # -3.1% rounds to 3.1, not 3.2
        ("Revenue was $1,234 last year.", "number the data does not contain"),
        ("AAPL looks stronger than TEST.", "a symbol other than TEST"),
        ("Buy $MSFT instead of it.", "a symbol other than TEST"),
        ("<<<FORECAST_NOTE The model expects a fall.", "marker"),
        ("FACTS_NOTE shows a fall.", "marker"),
        ("Market Stance: BEARISH for now.", "marker"),
        ("As the quoted data says, it falls.", "marker"),
        ("It falls. It falls.", "repeats a sentence"),
        ("One to three different short sentences about TEST.", "copies the prompt's instructions"),
        ("rationale: Only if your stance goes against it.", "copies the prompt's instructions"),
        ("mixed, mixed, mixed, mixed, mixed, mixed, mixed, mixed, mixed.", "repeats a sentence"),
        ("x" * (fields.REASON_CHARS + 1), "longer than"),
        ("   ", "empty"),
        ("and", "not a whole sentence"),
        ("The headline is a great example of how to use the", "not a whole sentence"),
    ],
)
def test_bad_fields_fail(text, reason):
    got = why(text)
    assert got is not None and reason in got, got


def test_a_sentence_of_an_earlier_field_is_a_repeat():
    seen: set[str] = set()
    assert why("The model expects a fall.", seen=seen) is None
    assert why("the model expects a fall.", seen=seen) == "it repeats a sentence"


def test_headline_names_are_no_other_ticker():
    assert why("NVIDIA beats estimates again.") is not None
    assert why("NVIDIA beats estimates again.", allowed=frozenset({"NVIDIA"})) is None


def test_parse_reads_only_the_schema_s_values():
    text = json.dumps({"stance": "bullish", "confidence": "HIGH", "reasons": ["  One.\n", 3, ""], "rationale": 5})
    assert fields.parse(text) == fields.Fields("BULLISH", "High", ("One.",), None, None)
    assert fields.parse(json.dumps({"stance": "UP", "confidence": "sure"})) == fields.Fields()
    assert fields.parse("Market Stance: BULLISH") == fields.Fields()
    assert fields.parse("[1, 2]") == fields.Fields()


def test_review_keeps_good_fields_and_notes_the_others():
    f = fields.Fields(
        "BEARISH",
        "Medium",
        ("TEST may fall to $96.91.", "It could hit $42.", "TEST may fall to $96.91.", "One more.", "Five."),
        "GOOG is doing better.",
        "TEST closed at $100.00.\n\nThe range is wide.",
    )
    r = fields.review(f, FACTS, ticker="TEST", headlines=HEADLINES)
    assert r.reasons == ("TEST may fall to $96.91.",) and r.rationale is None
    assert r.narrative == "TEST closed at $100.00.\n\nThe range is wide."
    assert r.notes == (
        "reason 2: it writes a number the data does not contain",
        "reason 3: it repeats a sentence",
        "reasons beyond 3: too many",
        "stance rationale: it names a symbol other than TEST",
    )


def test_schema_bounds_every_text_field():
    s = fields.schema(narrative=False)
    assert s["required"] == ["stance", "confidence", "reasons"] and "narrative" not in s["properties"]
    assert s["properties"]["stance"]["enum"] == ["BULLISH", "BEARISH", "NEUTRAL"]
    assert s["properties"]["reasons"]["maxItems"] == fields.MAX_REASONS
    assert s["properties"]["reasons"]["items"]["maxLength"] == fields.REASON_CHARS
    assert fields.schema(narrative=True)["required"][-1] == "narrative"
