import datetime as dt
from pathlib import Path

import pytest
import torch

from stockagent.settings import Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.data_dir == Path(".data").absolute() and s.data_source == "auto" and s.prices_dir is None
    assert (s.parent_ticker, s.parent_start_date, s.parent_epochs, s.child_epochs) == (
        "^GSPC",
        dt.date(2004, 8, 19),
        20,
        10,
    )
    assert (s.child_strategy, s.learning_rate, s.fine_tune_learning_rate) == ("freeze", 1e-3, 1e-4)
    assert s.train_start_date is None and s.model_keep_versions == 5 and s.device == "auto"
    assert s.torch_device() == ("cuda" if torch.cuda.is_available() else "cpu")  # "auto": the GPU when torch sees one


def test_from_env(tmp_path):
    s = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "DATA_SOURCE": "Bundled",
            "PARENT_EPOCHS": "3",
            "TRAIN_START_DATE": "2015-01-01",
            "CHILD_STRATEGY": "fine_tune",
            "PARENT_TICKER": " spy ",
            "LEARNING_RATE": "0.01",
            "DEVICE": "cpu",
            "PRICES_DIR": "",
        }
    )
    assert s.data_dir == tmp_path and s.data_source == "bundled" and s.parent_epochs == 3 and s.prices_dir is None
    assert s.train_start_date == dt.date(2015, 1, 1) and s.child_strategy == "fine_tune" and s.parent_ticker == "SPY"
    assert s.models_dir == tmp_path / "models"
    shared = Settings.from_env({"DATA_DIR": str(tmp_path), "MODELS_DIR": str(tmp_path / "shared")})
    assert shared.models_dir == tmp_path / "shared"  # MODELS_DIR: the folder replicas share


@pytest.mark.parametrize(
    "env, name",
    [
        ({"DATA_SOURCE": "ftp"}, "DATA_SOURCE"),
        ({"PARENT_EPOCHS": "0"}, "PARENT_EPOCHS"),
        ({"CHILD_EPOCHS": "ten"}, "CHILD_EPOCHS"),
        ({"LEARNING_RATE": "2"}, "LEARNING_RATE"),
        ({"CHILD_STRATEGY": "thaw"}, "CHILD_STRATEGY"),
        ({"PARENT_START_DATE": "2004-13-01"}, "PARENT_START_DATE"),
        ({"MODEL_KEEP_VERSIONS": "0"}, "MODEL_KEEP_VERSIONS"),
        ({"DEVICE": "tpu"}, "DEVICE"),
        ({"PARENT_TICKER": "../x"}, "PARENT_TICKER"),
    ],
)
def test_invalid(env, name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env(env)


def test_the_model_names_the_variable_and_why():
    with pytest.raises(ValueError, match=r"setting PARENT_EPOCHS='0' is invalid: .*greater than or equal to 1"):
        Settings.from_values({"PARENT_EPOCHS": "0"})
    with pytest.raises(ValueError, match=r"setting DATA_SOURCE='ftp' is invalid: .*'auto', 'bundled' or 'yahoo'"):
        Settings.from_values({"DATA_SOURCE": "ftp"})
    with pytest.raises(ValueError, match="unknown setting PARENT_EPOCH: expected one of"):
        Settings.from_values({"PARENT_EPOCH": "3"})
    assert Settings.from_values({"PARENT_EPOCHS": " ", "DEVICE": " CPU "}).device == "cpu"  # blank: the default


def test_keyword_arguments_read_no_environment(monkeypatch):
    monkeypatch.setenv("PARENT_EPOCHS", "7")
    assert Settings().parent_epochs == 20 and Settings(child_epochs=3).parent_epochs == 20
    assert Settings.from_env().parent_epochs == 7  # the standalone CLI's path reads it


def test_configure_reads_no_environment(monkeypatch, tmp_path):
    """The server's path: Go's mapping wins over a conflicting environment, which is not read at all."""
    import json

    from stockagent import settings
    from stockagent.entries import system

    monkeypatch.setenv("DATA_SOURCE", "yahoo")
    monkeypatch.setenv("PARENT_EPOCHS", "not a number")  # would fail the build if it were read
    monkeypatch.setenv("DRIFT_WINDOW_DAYS", "90")
    previous = settings._configured
    try:
        request = {"settings": {"DATA_DIR": str(tmp_path), "DATA_SOURCE": "bundled", "CHILD_EPOCHS": "4"}}
        got = json.loads(system.configure(json.dumps(request).encode()))
        assert got == {"data_dir": str(tmp_path), "models_dir": str(tmp_path / "models"), "data_source": "bundled"}
        s = settings.load()
        assert (s.data_source, s.child_epochs, s.parent_epochs, s.drift_window_days) == ("bundled", 4, 20, 60)
    finally:
        settings.configure(previous)


def test_configure_refuses_a_bad_value(tmp_path):
    from stockagent import errors, settings
    from stockagent.entries import system

    previous = settings._configured
    try:
        with pytest.raises(errors.InvalidParameter, match="setting CHILD_STRATEGY='thaw' is invalid"):
            system.configure(b'{"settings": {"DATA_DIR": "/tmp", "CHILD_STRATEGY": "thaw"}}')
        assert settings._configured is previous  # nothing half-configured
    finally:
        settings.configure(previous)


def test_the_server_sends_every_variable():
    """server/config/config.go's PythonVariables plus the settings the server shares with Python
    name exactly this model's variables: one the server forgot would keep its default there."""
    import re

    go = (Path(__file__).parents[2] / "server" / "config" / "config.go").read_text()
    block = re.search(r"var PythonVariables = \[\]string\{(.*?)\n\}", go, re.S)
    assert block, "PythonVariables not found in server/config/config.go"
    sent = set(re.findall(r'"([A-Z_]+)"', block.group(1)))
    shared = {
        "DATA_DIR",
        "MODELS_DIR",
        "REDIS_URL",
        "LLM_BASE_URL",
        "FMI_API_KEY",
        "BACKTEST_COST_BPS",
    }  # PythonSettings adds them
    assert sent | shared == set(Settings.variables())


def test_the_analysts_settings():
    """LLM_*, AGENT_* and NEWS_* are fields of the one model, read and refused as the others are."""
    s = Settings.from_values(
        {
            "LLM_PROVIDER": " NONE ",
            "LLM_TIMEOUT": "5",
            "LLM_TEMPERATURE": "0.7",
            "AGENT_MAX_REVISIONS": "0",
            "AGENT_LLM_CRITIQUE": "on",
            "NEWS_SOURCE": "Yahoo",
            "LLM_MODEL": "",
            "LLM_API_KEY": "sk-secret",
            "FMI_API_KEY": "Key",
        }
    )
    assert (s.llm_provider, s.llm_timeout, s.temperature, s.max_revisions, s.llm_critique) == (
        "none",
        5.0,
        0.7,
        0,
        True,
    )
    assert (s.news_source, s.fmi_api_key, s.llm_model, s.llm_api_key) == ("yahoo", "Key", "", "sk-secret")
    assert "sk-secret" not in repr(s) and "Key" not in repr(s)
    d = Settings()
    assert (d.llm_provider, d.llm_ctx, d.max_tokens, d.max_question_tokens, d.news_limit) == (
        "llama-cpp",
        2048,
        384,
        512,
        8,
    )
    assert d.question_limit() == 512 and Settings(llm_ctx=1024).question_limit() == (1024 - 384) // 3
    for values, message in [
        ({"LLM_PROVIDER": "gpt"}, r"setting LLM_PROVIDER='gpt' is invalid: Input should be 'llama-cpp'"),
        ({"LLM_TIMEOUT": "soon"}, "setting LLM_TIMEOUT='soon' is invalid"),
        ({"LLM_TEMPERATURE": "3"}, r"setting LLM_TEMPERATURE='3' is invalid: .*less than or equal to 2"),
        ({"AGENT_MAX_REVISIONS": "9"}, "setting AGENT_MAX_REVISIONS='9' is invalid"),
        ({"AGENT_LLM_CRITIQUE": "maybe"}, "setting AGENT_LLM_CRITIQUE='maybe' is invalid"),
        ({"NEWS_SOURCE": "twitter"}, "setting NEWS_SOURCE='twitter' is invalid"),
        ({"NEWS_LIMIT": "0"}, "setting NEWS_LIMIT='0' is invalid"),
    ]:
        with pytest.raises(ValueError, match=message):
            Settings.from_values(values)
