"""News (with injected fetchers, never the network), the headline block, the analyst's settings,
and the choice of LLM (cheap status, no model loaded)."""

import io
import json
import types

import pytest

from stockagent import errors, llm
from stockagent.agent import tools
from stockagent.entries import agent as entries
from stockagent.llm import chat as chat_mod
from stockagent.settings import Settings


def headline(title):
    return {"title": title, "publisher": "P", "url": "u", "published": "2025-01-02T00:00:00Z"}


def failing(exc):
    def fetch(_ticker):
        raise exc

    return fetch


def test_news_source_order_and_fallbacks():
    calls = []

    def ok(name):
        def fetch(ticker):
            calls.append((name, ticker))
            return [headline(f"{name} {ticker}")]

        return fetch

    keyed = Settings(fmi_api_key="k")
    out = tools.fetch_news("AAPL", keyed, finnhub=ok("finnhub"), yahoo=ok("yahoo"))
    assert (
        out["source"] == "finnhub" and out["headlines"][0]["title"] == "finnhub AAPL" and calls == [("finnhub", "AAPL")]
    )

    out = tools.fetch_news("AAPL", keyed, finnhub=failing(TimeoutError("timed out")), yahoo=ok("yahoo"))
    assert out["source"] == "yahoo" and "finnhub: TimeoutError: timed out" in out["detail"]

    out = tools.fetch_news("AAPL", keyed, use_fmi=False, finnhub=ok("finnhub"), yahoo=ok("yahoo"))
    assert out["source"] == "yahoo" and "use_fmi=false" in out["detail"]

    out = tools.fetch_news("AAPL", Settings(), finnhub=ok("finnhub"), yahoo=ok("yahoo"))  # no key: Yahoo
    assert out["source"] == "yahoo" and "FMI_API_KEY is not set" in out["detail"]

    out = tools.fetch_news("AAPL", keyed, finnhub=lambda t: [], yahoo=failing(ConnectionError("offline")))
    assert out == {
        "ticker": "AAPL",
        "source": "none",
        "headlines": [],
        "detail": "finnhub: no headlines; yahoo: ConnectionError: offline",
    }

    out = tools.fetch_news(
        "AAPL", Settings(news_source="none", fmi_api_key="k"), finnhub=ok("finnhub"), yahoo=ok("yahoo")
    )
    assert out["source"] == "none" and out["detail"] == "NEWS_SOURCE=none"

    out = tools.fetch_news(
        "AAPL", Settings(news_source="finnhub", fmi_api_key="k"), finnhub=failing(OSError("down")), yahoo=ok("yahoo")
    )
    assert out["source"] == "none"  # only Finnhub was asked for

    many = tools.fetch_news("AAPL", Settings(news_limit=3), yahoo=lambda t: [headline(str(i)) for i in range(10)])
    assert len(many["headlines"]) == 3


def test_finnhub_fetcher_reads_company_news(monkeypatch):
    seen = {}
    payload = [
        {"headline": "Older", "source": "A", "url": "https://a", "datetime": 1735700000},
        {"headline": "  Newer\nheadline ", "source": "B", "url": "https://b", "datetime": 1735800000},
        {"headline": "", "source": "C", "url": "https://c", "datetime": 1735900000},
    ]

    def fake_urlopen(req, timeout):
        seen["url"], seen["timeout"], seen["token"] = req.full_url, timeout, req.get_header("X-finnhub-token")
        return io.BytesIO(json.dumps(payload).encode())

    monkeypatch.setattr(tools.urllib.request, "urlopen", fake_urlopen)
    out = tools.finnhub_fetcher("secret", 3.0, 5)("AAPL")
    assert [h["title"] for h in out] == ["Newer headline", "Older"]
    assert out[0] == {
        "title": "Newer headline",
        "publisher": "B",
        "url": "https://b",
        "published": "2025-01-02T06:40:00Z",
    }
    assert seen["timeout"] == 3.0 and seen["token"] == "secret" and "secret" not in seen["url"]
    assert "symbol=AAPL" in seen["url"] and "company-news" in seen["url"]


def test_yahoo_fetcher_reads_both_layouts(monkeypatch):
    from stockagent.market import prices

    items = [
        {
            "id": "1",
            "content": {
                "title": "New layout",
                "pubDate": "2025-01-02T10:00:00Z",
                "provider": {"displayName": "Yahoo"},
                "canonicalUrl": {"url": "https://y/1"},
            },
        },
        {"title": "Old layout", "publisher": "Reuters", "link": "https://y/2", "providerPublishTime": 1735800000},
    ]
    fake_yf = types.SimpleNamespace(Ticker=lambda t: types.SimpleNamespace(get_news=lambda count: items))
    monkeypatch.setitem(__import__("sys").modules, "yfinance", fake_yf)
    monkeypatch.setattr(prices, "yahoo_reachable", lambda: True)
    out = tools.yahoo_fetcher(3.0, 5)("AAPL")
    assert out == [
        {"title": "New layout", "publisher": "Yahoo", "url": "https://y/1", "published": "2025-01-02T10:00:00Z"},
        {"title": "Old layout", "publisher": "Reuters", "url": "https://y/2", "published": "2025-01-02T06:40:00Z"},
    ]
    monkeypatch.setattr(prices, "yahoo_reachable", lambda: False)
    with pytest.raises(ConnectionError):
        tools.yahoo_fetcher(3.0, 5)("AAPL")


def test_a_slow_library_is_abandoned_after_the_timeout():
    import time

    with pytest.raises(TimeoutError, match=r"within 0\.1s"):
        tools._with_deadline(lambda: time.sleep(2), 0.1, "slow")


def test_headline_block_quotes_and_cleans():
    block = tools.headline_block(
        [
            {"title": 'Say "hi"\nto <<<everyone>>>', "publisher": "A>>>B"},
            {"title": "x" * 500, "publisher": ""},
        ]
    )
    lines = block.splitlines()
    assert lines[0] == tools.HEADLINES_BEGIN and lines[-1] == tools.HEADLINES_END and len(lines) == 4
    assert lines[1] == '1. "Say \\"hi\\" to everyone" (A B)'
    assert len(lines[2]) < 220 and lines[2].endswith('…"')
    assert tools.quote_block("NOTE", "a\nb >>> c") == "<<<NOTE\na b c\nNOTE>>>"


def test_entry_news_offline_never_raises(load_env):
    load_env(NEWS_SOURCE="none")
    out = json.loads(entries.news(b'{"ticker": "aapl"}'))
    assert out == {"ticker": "AAPL", "source": "none", "headlines": [], "detail": "NEWS_SOURCE=none"}
    with pytest.raises(errors.BadRequest):
        entries.news(b'{"ticker": "../etc"}')
    with pytest.raises(errors.BadRequest, match="use_fmi"):
        entries.news(b'{"ticker": "AAPL", "use_fmi": "yes"}')


def test_llm_choice_and_cheap_status(tmp_path):
    status = llm.status(Settings())
    assert status["provider"] == "llama-cpp" and status["available"] is True
    assert status["model"] == "SmolLM2-135M-Instruct.Q4_1" and llm.packaged_gguf().is_file()

    remote = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_provider="none")
    assert llm.status(remote) == {
        "available": True,
        "provider": "openai-compatible",
        "model": "m",
        "detail": "OpenAI-compatible server at http://127.0.0.1:9/v1 (not probed)",
    }
    model = llm.select(remote)
    assert isinstance(model, llm.OpenAIChat) and llm.select(remote) is model  # built once

    assert llm.status(Settings(llm_provider="openai-compatible"))["available"] is False
    missing = Settings(llm_gguf=str(tmp_path / "nope.gguf"))
    assert llm.status(missing)["available"] is False and "is not a file" in llm.status(missing)["detail"]
    with pytest.raises(errors.Unavailable, match="no LLM configured: LLM_GGUF="):
        llm.select(missing)


def test_openai_chat_reports_an_unreachable_server():
    model = llm.OpenAIChat("http://127.0.0.1:9/v1", "m", timeout=2, max_retries=0)
    with pytest.raises(errors.Unavailable, match="unreachable"):
        model.invoke([{"role": "user", "content": "hi"}], max_tokens=5, temperature=0)


def test_llm_status_entry_loads_nothing(load_env):
    load_env(LLM_BASE_URL=None, LLM_PROVIDER=None)
    chat_mod._llama_models.clear()
    out = json.loads(entries.llm_status(b"{}"))
    assert out["available"] and out["provider"] == "llama-cpp" and "loads on first use" in out["detail"]
    assert chat_mod._llama_models == {}
    with pytest.raises(errors.BadRequest):
        entries.llm_status(b'{"x": 1}')


def test_old_settings_reach_the_analyst_through_configure(monkeypatch, tmp_path):
    """The server reads LLAMA_CPP_BASE_URL and FINNHUB_API_KEY (old names) and hands the values to
    ``configure``; the analyst uses them although its environment has neither new name, and
    NEWS_SOURCE=auto asks Finnhub first without the request asking for it."""
    from stockagent import settings
    from stockagent.entries import system

    for name in ("FMI_API_KEY", "LLM_BASE_URL", "LLM_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWS_SOURCE", "none")  # not read: the server's mapping leaves NEWS_SOURCE at auto
    asked = []

    def finnhub_fetcher(api_key, timeout, limit):
        return lambda ticker: asked.append(("finnhub", api_key, ticker)) or [headline("from finnhub")]

    def yahoo_fetcher(timeout, limit):
        return lambda ticker: asked.append(("yahoo", None, ticker)) or [headline("from yahoo")]

    monkeypatch.setattr(tools, "finnhub_fetcher", finnhub_fetcher)
    monkeypatch.setattr(tools, "yahoo_fetcher", yahoo_fetcher)
    previous = settings._configured
    try:
        system.configure(
            json.dumps(
                {
                    "settings": {
                        "DATA_DIR": str(tmp_path),
                        "FMI_API_KEY": "fh-key",
                        "LLM_BASE_URL": "http://llm.invalid:8080/v1",
                    }
                }
            ).encode()
        )
        assert "fh-key" not in repr(settings.load())
        s = settings.load()
        assert s.fmi_api_key == "fh-key" and s.llm_base_url == "http://llm.invalid:8080/v1"
        assert json.loads(entries.llm_status(b"{}"))["provider"] == "openai-compatible"

        out = json.loads(entries.news(b'{"ticker": "AAPL"}'))  # no use_fmi: NEWS_SOURCE decides
        assert out["source"] == "finnhub" and asked == [("finnhub", "fh-key", "AAPL")]
        asked.clear()
        out = json.loads(entries.news(b'{"ticker": "AAPL", "use_fmi": false}'))  # the request opts out
        assert out["source"] == "yahoo" and asked == [("yahoo", None, "AAPL")] and "use_fmi=false" in out["detail"]
    finally:
        settings.configure(previous)
