"""Settings of the forecasting core: one frozen dataclass, read from environment variables.

Every value has a safe default, is validated once when the object is built, and is read-only
afterwards. Library code takes a :class:`Settings` argument; only the entry modules (and the CLI
through them) use :func:`load`, so tests build their own settings and never share state. Inside the
server, Go sends the values it owns (the data folder, REDIS_URL, the analyst's LLM server and
Finnhub key) once at start-up (:func:`configure`); the others come from the process environment.

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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Mapping
from pathlib import Path

from . import errors

DATA_SOURCES = ("auto", "bundled", "yahoo")
STRATEGIES = ("freeze", "fine_tune")
DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("off", "bf16", "fp16")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".data")
    models_root: Path | None = None  # MODELS_DIR; None: DATA_DIR/models (see models_dir)
    data_source: str = "auto"
    prices_dir: Path | None = None
    parent_ticker: str = "^GSPC"
    parent_start_date: dt.date = dt.date(2004, 8, 19)  # Google's IPO: the old system's start, kept
    parent_epochs: int = 20
    child_epochs: int = 10
    child_strategy: str = "freeze"
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-4  # 10x lower: fine-tuning must not wash out the parent
    train_start_date: dt.date | None = None  # None: a child trains on its full history
    model_keep_versions: int = 5
    device: str = "auto"
    train_amp: str = "off"  # autocast on CUDA; weights and the optimizer stay float32 either way
    # REDIS_URL: the analyst's checkpoints live in Redis; None: SQLite in the data folder. It may
    # hold a password, so it stays out of repr.
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    # The analyst's server and Finnhub key as the server read them (old names included); None: the
    # agent's context reads its environment (agent/context.py). Secrets: out of repr too.
    llm_base_url: str | None = dataclasses.field(default=None, repr=False)
    fmi_api_key: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        from . import tickers  # late import: tickers does not need settings

        # Paths are made absolute once, so a later chdir cannot move the data.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().absolute())
        for name in ("prices_dir", "models_root"):
            if (value := getattr(self, name)) is not None:
                object.__setattr__(self, name, Path(value).expanduser().absolute())
        for name in ("parent_start_date", "train_start_date"):  # dates may be given as YYYY-MM-DD strings
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    object.__setattr__(self, name, dt.date.fromisoformat(value))
                except ValueError:
                    raise ValueError(f"setting {name.upper()}={value!r} is not a date (YYYY-MM-DD)") from None
        _require(self.data_source in DATA_SOURCES, "DATA_SOURCE", self.data_source, f"one of {DATA_SOURCES}")
        _require(self.child_strategy in STRATEGIES, "CHILD_STRATEGY", self.child_strategy, f"one of {STRATEGIES}")
        _require(self.device in DEVICES, "DEVICE", self.device, f"one of {DEVICES}")
        _require(self.train_amp in AMP_MODES, "TRAIN_AMP", self.train_amp, f"one of {AMP_MODES}")
        for name in ("parent_epochs", "child_epochs"):
            value = getattr(self, name)
            _require(1 <= value <= 1000, name.upper(), value, "an integer in 1..1000")
        for name in ("learning_rate", "fine_tune_learning_rate"):
            value = getattr(self, name)
            _require(0 < value <= 1, name.upper(), value, "a number in (0, 1]")
        _require(self.model_keep_versions >= 1, "MODEL_KEEP_VERSIONS", self.model_keep_versions, ">= 1")
        try:
            object.__setattr__(self, "parent_ticker", tickers.normalize(self.parent_ticker))
        except Exception as exc:
            raise ValueError(f"PARENT_TICKER: {exc}") from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables; an unset or empty variable keeps its default."""
        env = os.environ if env is None else env

        def get(name: str, parse, default):
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError:
                what = {"int": "integer", "float": "number", "fromisoformat": "date (YYYY-MM-DD)"}
                kind = what.get(parse.__name__, parse.__name__)
                raise ValueError(f"environment variable {name}={raw!r} is not a valid {kind}") from None

        d = cls()  # the defaults, in one place
        return cls(
            data_dir=get("DATA_DIR", Path, d.data_dir),
            models_root=get("MODELS_DIR", Path, d.models_root),
            data_source=get("DATA_SOURCE", str.lower, d.data_source),
            prices_dir=get("PRICES_DIR", Path, d.prices_dir),
            parent_ticker=get("PARENT_TICKER", str, d.parent_ticker),
            parent_start_date=get("PARENT_START_DATE", dt.date.fromisoformat, d.parent_start_date),
            parent_epochs=get("PARENT_EPOCHS", int, d.parent_epochs),
            child_epochs=get("CHILD_EPOCHS", int, d.child_epochs),
            child_strategy=get("CHILD_STRATEGY", str.lower, d.child_strategy),
            learning_rate=get("LEARNING_RATE", float, d.learning_rate),
            fine_tune_learning_rate=get("FINE_TUNE_LEARNING_RATE", float, d.fine_tune_learning_rate),
            train_start_date=get("TRAIN_START_DATE", dt.date.fromisoformat, d.train_start_date),
            model_keep_versions=get("MODEL_KEEP_VERSIONS", int, d.model_keep_versions),
            device=get("DEVICE", str.lower, d.device),
            train_amp=get("TRAIN_AMP", str.lower, d.train_amp),
            redis_url=get("REDIS_URL", str, d.redis_url),
        )

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


def _require(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise ValueError(f"setting {name}={value!r} is invalid: expected {expected}")


_configured: Settings | None = None


def configure(s: Settings) -> None:
    """Make ``s`` the process-wide settings: the server's one ``configure`` call at start-up
    (entries/system.py), so the values Go owns reach Python without touching the environment."""
    global _configured
    _configured = s


def load() -> Settings:
    """The process-wide settings (entry modules only): the configured value inside the server,
    else read from the environment on first use (the CLI, tests)."""
    return _configured if _configured is not None else _from_env()


@functools.cache
def _from_env() -> Settings:
    return Settings.from_env()


def reset() -> None:
    """Forget the configured settings and the cached environment (tests)."""
    global _configured
    _configured = None
    _from_env.cache_clear()
