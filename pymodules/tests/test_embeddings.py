"""The packaged sentence-embedding model through the entry functions (in-process, offline)."""

import json
import math

import pytest

from stockagent import errors
from stockagent.entries import agent as entries
from stockagent.llm import embeddings


def call(fn, req):
    return json.loads(fn(json.dumps(req).encode()))


def test_embed_dimension_normalization_and_similarity():
    status = call(entries.embed_status, {})
    assert status["available"] and status["model"] == "all-MiniLM-L6-v2"
    out = call(
        entries.embed,
        {
            "texts": [
                "AAPL up 2-5% over 21 days; Apple beats earnings estimates",
                "Apple shares forecast to rise a few percent this month after strong earnings",
                "Slow-cooked lentil soup with cumin and lemon",
            ]
        },
    )
    assert out["model"] == "all-MiniLM-L6-v2" and out["dim"] == embeddings.dim()
    assert out["dim"] == embeddings.load().get_embedding_dimension()  # from the model, not a constant
    assert status["dim"] in (None, out["dim"])  # declared by the model's files before loading
    a, b, c = out["vectors"]
    assert all(len(v) == out["dim"] for v in (a, b, c))
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in (a, b, c))
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731 - cosine, as the vectors are unit length
    assert dot(a, b) > 0.5 > dot(a, c) and dot(a, b) > dot(b, c) + 0.3

    one = call(entries.embed, {"text": "AAPL up 2-5% over 21 days; Apple beats earnings estimates"})
    assert len(one["vectors"]) == 1 and dot(one["vectors"][0], a) == pytest.approx(1.0, abs=1e-5)
    after = call(entries.embed_status, {})
    assert after["loaded"] is True and after["dim"] == out["dim"]


@pytest.mark.parametrize(
    "req, message",
    [
        ({}, "exactly one"),
        ({"text": "a", "texts": ["b"]}, "exactly one"),
        ({"text": 3}, "must be a string"),
        ({"texts": "abc"}, "texts must be a list"),
        ({"texts": []}, "empty"),
        ({"texts": ["x"] * (embeddings.MAX_TEXTS + 1)}, "at most"),
        ({"txt": "a"}, "unknown field"),
    ],
)
def test_embed_refuses_bad_requests(req, message):
    with pytest.raises(errors.BadRequest, match=message):
        call(entries.embed, req)
