"""Credentials in URLs never reach a message (finding 11)."""

import types

import pytest

from stockagent import errors, redact
from stockagent.featurestore import redis_connection
from stockagent.llm import chat


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("http://user:pw@llm:8080/v1", "http://REDACTED@llm:8080/v1"),
        ("redis://:hunter2@10.0.0.5:6379/0", "redis://REDACTED@10.0.0.5:6379/0"),
        ("https://llm.example/v1?api_key=sk-123&model=x", "https://llm.example/v1?api_key=REDACTED&model=x"),
        ("https://h/p?access_token=abc", "https://h/p?access_token=REDACTED"),
        ("http://llm:8080/v1", "http://llm:8080/v1"),
        ("http://a@b@[bad", "REDACTED"),
    ],
)
def test_url(raw, want):
    assert redact.url(raw) == want


def test_text_redacts_every_url():
    got = redact.text("tried http://u:secret1@a:1/x then https://b/?token=secret2, gave up")
    assert "secret1" not in got and "secret2" not in got and "https://b/" in got


def test_llm_status_never_shows_the_password():
    s = types.SimpleNamespace(
        llm_provider="openai-compatible",
        llm_base_url="http://u:s3cret@llm:8080/v1",
        llm_model="m",
        llm_api_key="",
        llm_timeout=1.0,
        llm_max_retries=0,
        llm_gguf="",
        llm_ctx=512,
        llm_threads=1,
    )
    assert "s3cret" not in chat._choose(s).detail


def test_bad_redis_url_never_shows_the_password():
    with pytest.raises(errors.InvalidParameter) as exc:
        redis_connection("http://u:s3cret@redis:6379/0")
    assert "s3cret" not in str(exc.value)
