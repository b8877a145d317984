"""Settings of the forecasting core, of monitoring and of the analyst: one typed, frozen model
(pydantic-settings).

Every value has a safe default, is validated once when the object is built, and is read-only
afterwards. Library code takes a :class:`Settings` argument; only the entry modules (and the CLI
through them) use :func:`load`, so tests build their own settings and never share state. Inside the
server, Go reads every variable below (old names included) and sends them as one mapping at start-up
(entries/system.py, ``configure``): that path reads no environment. Only the standalone CLI and
worker read the environment (:meth:`Settings.from_env`, through :func:`load`).

| variable | default | meaning |
|---|---|---|
| ``DATA_DIR`` | ``.data`` (relative to the working directory) | models and the price cache live here |
| ``MODELS_DIR`` | ``DATA_DIR/models`` | model versions and serving pointers: the one folder replicas share |
| ``DATA_SOURCE`` | ``auto`` | ``bundled``, ``yahoo``, or ``auto`` = Yahoo when reachable, else the files on disk |
| ``PRICES_DIR`` | unset | a folder of ``<SYMBOL>.csv`` files in the bundled format; wins over bundled data |
| ``PARENT_TICKER`` | ``^GSPC`` | the symbol the parent model learns from |
| ``PARENT_START_DATE`` | ``2004-08-19`` | first date of the parent's training data |
| ``PARENT_EPOCHS`` | ``20`` | default epochs for the parent |
| ``CHILD_EPOCHS`` | ``10`` | default epochs for a child |
| ``CHILD_STRATEGY`` | ``freeze`` | ``freeze`` (train the head only) or ``fine_tune`` (train everything) |
| ``LEARNING_RATE`` | ``1e-3`` | Adam learning rate (parent, and a child's head under ``freeze``) |
| ``FINE_TUNE_LEARNING_RATE`` | ``1e-4`` | Adam learning rate for a child under ``fine_tune`` |
| ``TRAIN_START_DATE`` | unset (full history) | first date of a child's training data |
| ``MODEL_KEEP_VERSIONS`` | ``5`` | model versions kept per ticker (the serving one is never deleted) |
| ``DEVICE`` | ``auto`` | ``cpu``, ``cuda`` or ``auto`` (CUDA when available); ``cuda`` without a GPU is an error |
| ``TRAIN_AMP`` | ``off`` | mixed precision for training on CUDA: ``off``, ``bf16`` or ``fp16`` (ignored on the CPU) |
| ``REFIT`` | ``on`` | refit on every day up to the last close after the evaluation, and serve that (train.py) |
| ``STAT_BASELINES`` | ``on`` | score AutoETS, AutoTheta and AutoARIMA on the test windows too (statmodels.py) |
| ``FEATURE_STORE`` | ``off`` | ``feast`` writes each trained ticker's features into Feast (featurestore.py) |
| ``DRIFT_WINDOW_DAYS`` | ``60`` | trading days in drift's *current* window (the most recent ones) |
| ``MONITOR_HISTORY_KEEP`` | ``500`` | drift and evaluation records kept per model in the history files |
| ``BACKTEST_COST_BPS`` | ``5`` | a backtest's cost in basis points per unit of turnover when a request sets none |
| ``REDIS_URL`` | unset | the analyst's checkpoints (and Feast's online store) live in Redis; unset: SQLite |
| ``LLM_PROVIDER`` | ``llama-cpp`` | ``llama-cpp`` (in-process), ``openai-compatible`` (``LLM_BASE_URL``), ``none`` |
| ``LLM_BASE_URL`` | unset | an OpenAI-compatible server (``http://host:8080/v1``); wins over ``LLM_PROVIDER`` |
| ``LLM_MODEL`` | unset | the model name sent to that server |
| ``LLM_API_KEY`` | unset | its API key (local servers need none) |
| ``LLM_TIMEOUT`` | ``60`` | seconds one LLM call may take (per attempt for a server) |
| ``LLM_MAX_RETRIES`` | ``1`` | retries of a failed server call |
| ``LLM_GGUF`` | the packaged SmolLM2-135M-Instruct | a GGUF file for the in-process model |
| ``LLM_CTX`` | ``2048`` | the in-process model's context window (tokens) |
| ``LLM_THREADS`` | ``0`` = the calling worker's torch thread budget | CPU threads of the in-process model |
| ``LLM_TEMPERATURE`` | ``0.2`` | sampling temperature |
| ``AGENT_MAX_TOKENS`` | ``384`` | tokens one answer may have (bounds each in-process call) |
| ``AGENT_MAX_REVISIONS`` | ``1`` | times the critic may send a report back |
| ``AGENT_MAX_QUESTION_TOKENS`` | ``512`` | tokens a follow-up question may have (more: 422; see question_limit) |
| ``AGENT_LLM_CRITIQUE`` | ``off`` | also ask the LLM to critique (the deterministic checks always run) |
| ``AGENT_DIRECTION_BAND_PCT`` | ``1.0`` | a forecast move within ±this % counts as flat |
| ``NEWS_SOURCE`` | ``auto`` | ``auto`` (Finnhub with a key, then Yahoo), ``finnhub``, ``yahoo``, ``none`` |
| ``FMI_API_KEY`` | unset | Finnhub API key (the server also reads ``FINNHUB_API_KEY``) |
| ``NEWS_TIMEOUT`` | ``3`` | seconds per news request |
| ``NEWS_LIMIT`` | ``8`` | headlines kept per ticker |

An empty or blank value keeps the default. The OMP/MKL thread caps stay environment variables: the
native libraries read them when they load.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import pydantic
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from . import errors

MIN_DRIFT_WINDOW_DAYS = 20  # fewer current rows and the std, PSI's 10 bins and KS mean little
DataSource = Literal["auto", "bundled", "yahoo"]
Strategy = Literal["freeze", "fine_tune"]
Device = Literal["auto", "cpu", "cuda"]
AmpMode = Literal["off", "bf16", "fp16"]
LLMProvider = Literal["llama-cpp", "openai-compatible", "none"]
NewsSource = Literal["auto", "finnhub", "yahoo", "none"]
DATA_SOURCES, STRATEGIES, DEVICES, AMP_MODES = (get_args(t) for t in (DataSource, Strategy, Device, AmpMode))
LLM_PROVIDERS, NEWS_SOURCES = get_args(LLMProvider), get_args(NewsSource)
_LOWERED = ("data_source", "child_strategy", "device", "train_amp", "feature_store", "llm_provider", "news_source")
_SECRETS = ("redis_url", "llm_base_url", "llm_api_key", "fmi_api_key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", populate_by_name=True, validate_default=True)

    data_dir: Path = Path(".data")
    models_root: Path | None = pydantic.Field(default=None, validation_alias="MODELS_DIR")  # None: DATA_DIR/models
    data_source: DataSource = "auto"
    prices_dir: Path | None = None
    parent_ticker: str = "^GSPC"
    parent_start_date: dt.date = dt.date(2004, 8, 19)  # Google's IPO: the old system's start, kept
    parent_epochs: int = pydantic.Field(default=20, ge=1, le=1000)
    child_epochs: int = pydantic.Field(default=10, ge=1, le=1000)
    child_strategy: Strategy = "freeze"
    learning_rate: float = pydantic.Field(default=1e-3, gt=0, le=1)
    fine_tune_learning_rate: float = pydantic.Field(default=1e-4, gt=0, le=1)  # 10x lower: must not wash out the parent
    train_start_date: dt.date | None = None  # None: a child trains on its full history
    model_keep_versions: int = pydantic.Field(default=5, ge=1)
    device: Device = "auto"
    train_amp: AmpMode = "off"  # autocast on CUDA; weights and optimizer stay float32
    refit: bool = True
    stat_baselines: bool = True
    feature_store: Literal["off", "feast"] = "off"
    drift_window_days: int = pydantic.Field(default=60, ge=MIN_DRIFT_WINDOW_DAYS, le=5000)  # ~3 months: the old window
    history_keep: int = pydantic.Field(default=500, ge=1, le=100_000, validation_alias="MONITOR_HISTORY_KEEP")
    backtest_cost_bps: float = pydantic.Field(default=5.0, ge=0, le=1000)
    # Secrets (a Redis URL or a server URL may hold a password) stay out of repr.
    redis_url: str | None = pydantic.Field(default=None, repr=False)

    # The analyst (agent/, llm/): its language model, its loop and its news.
    llm_provider: LLMProvider = "llama-cpp"
    llm_base_url: str = pydantic.Field(default="", repr=False)  # wins over llm_provider when set
    llm_model: str = ""
    llm_api_key: str = pydantic.Field(default="", repr=False)
    llm_timeout: float = pydantic.Field(default=60.0, gt=0, le=3600)
    llm_max_retries: int = pydantic.Field(default=1, ge=0, le=10)
    llm_gguf: str = ""  # empty: the packaged SmolLM2
    llm_ctx: int = pydantic.Field(default=2048, ge=256, le=131072)
    llm_threads: int = pydantic.Field(default=0, ge=0, le=256)  # 0: the calling worker's torch budget
    temperature: float = pydantic.Field(default=0.2, ge=0, le=2, validation_alias="LLM_TEMPERATURE")
    max_tokens: int = pydantic.Field(default=384, ge=16, le=8192, validation_alias="AGENT_MAX_TOKENS")
    max_revisions: int = pydantic.Field(default=1, ge=0, le=5, validation_alias="AGENT_MAX_REVISIONS")
    max_question_tokens: int = pydantic.Field(
        default=512, ge=16, le=32768, validation_alias="AGENT_MAX_QUESTION_TOKENS"
    )
    llm_critique: bool = pydantic.Field(default=False, validation_alias="AGENT_LLM_CRITIQUE")
    direction_band_pct: float = pydantic.Field(default=1.0, ge=0, lt=50, validation_alias="AGENT_DIRECTION_BAND_PCT")
    news_source: NewsSource = "auto"
    fmi_api_key: str = pydantic.Field(default="", repr=False)
    news_timeout: float = pydantic.Field(default=3.0, gt=0, le=60)
    news_limit: int = pydantic.Field(default=8, ge=1, le=50)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments only: from_env is the one place that reads the environment.
        return (init_settings,)

    @pydantic.field_validator(*_LOWERED, mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @pydantic.field_validator("parent_start_date", "train_start_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        # YYYY-MM-DD only: pydantic alone would also take a number as a Unix time.
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError("not a date (YYYY-MM-DD)") from None
        return value

    @pydantic.field_validator("data_dir", "models_root", "prices_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Made absolute once, so a later chdir cannot move the data.
        return None if value is None else value.expanduser().absolute()

    @pydantic.field_validator("parent_ticker")
    @classmethod
    def _ticker(cls, value: str) -> str:
        from . import tickers  # late import: tickers does not need settings

        try:
            return tickers.normalize(value)
        except errors.BadRequest as exc:  # a ValueError is what pydantic reports as invalid
            raise ValueError(str(exc)) from None

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each variable's name and the field it sets."""
        return {
            (f.validation_alias if isinstance(f.validation_alias, str) else name.upper()): name
            for name, f in cls.model_fields.items()
        }

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> Settings:
        """Settings from variables' values (the server's mapping, or the environment's); a blank value
        keeps its default. Raises ValueError naming the variable for an unknown name or a bad value."""
        fields = cls.variables()
        given: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name}: expected one of {', '.join(sorted(fields))}")
            if raw.strip():
                given[fields[name]] = raw.strip()
        try:
            return cls(**given)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            loc = str(first["loc"][0]) if first["loc"] else ""
            field = fields.get(loc, loc)  # an aliased field is reported by its variable's name
            name = next((v for v, f in fields.items() if f == field), field.upper())
            shown = "***" if field in _SECRETS else repr(given.get(field))
            why = first["msg"].removeprefix("Value error, ")
            raise ValueError(f"setting {name}={shown} is invalid: {why}") from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (the standalone CLI and worker; tests pass a mapping)."""
        if env is None:
            env = {name.upper(): value for name, value in EnvSettingsSource(cls, case_sensitive=False)().items()}
        fields = cls.variables()
        return cls.from_values({name: value for name, value in env.items() if name in fields})

    def question_limit(self) -> int:
        """The tokens a question may have: AGENT_MAX_QUESTION_TOKENS, and at most a third of what
        the context leaves beside the answer, so the thread's history and the facts still fit."""
        return max(16, min(self.max_question_tokens, (self.llm_ctx - self.max_tokens) // 3))

    @property
    def models_dir(self) -> Path:
        """MODELS_DIR, or ``models`` inside the data folder."""
        return self.models_root if self.models_root is not None else self.data_dir / "models"

    @property
    def price_cache_dir(self) -> Path:
        return self.data_dir / "prices"

    def torch_device(self) -> str:
        """The device to train and predict on: ``auto`` means CUDA when torch sees a GPU.

        Raises :class:`errors.Unavailable` for ``DEVICE=cuda`` when torch sees none, rather than
        quietly training on the CPU of a host that was meant to use its GPU.
        """
        if self.device == "cpu":
            return "cpu"
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if self.device == "auto":
            return "cpu"
        why = (
            "this torch build has no CUDA support"
            if torch.version.cuda is None
            else f"torch (CUDA {torch.version.cuda}) sees no GPU: check the NVIDIA driver and that the GPU "
            "is passed to the container"
        )
        raise errors.Unavailable(f"DEVICE=cuda but {why}; DEVICE=auto or cpu runs on the CPU")


_configured: Settings | None = None


def configure(s: Settings) -> None:
    """Make ``s`` the process-wide settings: the server's one ``configure`` call at start-up
    (entries/system.py), so Go's values reach Python without touching the environment."""
    global _configured
    _configured = s


def load() -> Settings:
    """The process-wide settings (entry modules only): the configured value inside the server,
    else read from the environment on first use (the standalone CLI and worker, tests)."""
    return _configured if _configured is not None else _from_env()


@functools.cache
def _from_env() -> Settings:
    return Settings.from_env()


def reset() -> None:
    """Forget the configured settings and the cached environment (tests)."""
    global _configured
    _configured = None
    _from_env.cache_clear()
