"""Settings of the forecasting core and of monitoring: one typed, frozen model (pydantic-settings).

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
| ``REDIS_URL`` | unset | the analyst's checkpoints (and Feast's online store) live in Redis; unset: SQLite |
| ``LLM_BASE_URL``, ``FMI_API_KEY`` | unset | the analyst's server and Finnhub key; unset: agent/context.py's |

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
DATA_SOURCES, STRATEGIES, DEVICES, AMP_MODES = (get_args(t) for t in (DataSource, Strategy, Device, AmpMode))
_LOWERED = ("data_source", "child_strategy", "device", "train_amp", "feature_store")


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
    # Secrets (a Redis URL may hold a password) stay out of repr. The analyst's server and Finnhub
    # key as the server read them (old names included); None: agent/context.py reads its own.
    redis_url: str | None = pydantic.Field(default=None, repr=False)
    llm_base_url: str | None = pydantic.Field(default=None, repr=False)
    fmi_api_key: str | None = pydantic.Field(default=None, repr=False)

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
            field = str(first["loc"][0]) if first["loc"] else ""
            name = next((v for v, f in fields.items() if f == field), field.upper())
            shown = "***" if field in ("redis_url", "llm_base_url", "fmi_api_key") else repr(given.get(field))
            why = first["msg"].removeprefix("Value error, ")
            raise ValueError(f"setting {name}={shown} is invalid: {why}") from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (the standalone CLI and worker; tests pass a mapping)."""
        if env is None:
            env = {name.upper(): value for name, value in EnvSettingsSource(cls, case_sensitive=False)().items()}
        fields = cls.variables()
        return cls.from_values({name: value for name, value in env.items() if name in fields})

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
