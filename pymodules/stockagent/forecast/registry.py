"""Model artifacts on disk: versions, the serving pointer, atomic saves.

Layout under ``MODELS_DIR`` (default ``DATA_DIR/models/``; the one folder replicas share)::

    <id>/                      id: "parent", or a symbol's file stem (tickers.stem)
      serving.json             {"version": ..., "updated": ...}: the version predictions use
      .checkpoints/<run id>.pt the last epoch of a training run in progress (train.py), so an
                               interrupted run resumes; removed when the run ends
      v20250102153000123-1a2b/ one folder per version; names sort by creation time (UTC, ms)
        weights.pt             torch.save of the state dict as CPU tensors (loaded with weights_only=True
                               and map_location, so weights trained on a GPU serve on a CPU and back)
        scalers.json           dataset.Scalers as plain JSON (never pickle)
        meta.json              version, created, ticker, data range, data_as_of, config,
                               metrics with baselines, interval and its coverage, parent version
        evaluated-weights.pt   with a refit (train.py): the evaluation run's weights and scalers,
        evaluated-scalers.json which the held-out numbers are of; weights.pt is then the refit

A save writes every file into ``.tmp-<version>/`` (each fsynced), renames that folder to its final
name, then replaces ``serving.json`` (temp file, fsync, ``os.replace``, fsync of the folder). A crash
at any point leaves the previous serving version whole and still named by ``serving.json``; a
version folder exists only complete. The newest ``MODEL_KEEP_VERSIONS`` versions are kept, and the
serving one is never deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import torch

from .. import atomicfile, errors, tickers

log = logging.getLogger(__name__)

WEIGHTS, SCALERS, META, SERVING = "weights.pt", "scalers.json", "meta.json", "serving.json"
EVALUATED_WEIGHTS, EVALUATED_SCALERS = "evaluated-weights.pt", "evaluated-scalers.json"
_VERSION = re.compile(r"v\d{17}-[0-9a-f]{4}")
_RUN_ID = re.compile(r"[0-9a-f]{8,32}")
CHECKPOINTS = ".checkpoints"
atomicfile.TMP_PREFIX = ".tmp-"
_STALE_TMP_S = 3600.0  # a temp folder older than this is a crashed save, removed by the next save


@dataclasses.dataclass
class Artifact:
    model_id: str
    version: str
    state_dict: dict
    scalers: dict  # dataset.Scalers.to_json()
    meta: dict


class Registry:
    """Versioned models of every ticker under one folder. Safe for one writer per id at a time
    (the server runs one training per ticker) and any number of readers."""

    def __init__(self, root: Path, keep: int = 5):
        assert keep >= 1, f"keep must be >= 1, got {keep}"
        self.root, self.keep = Path(root), keep

    @classmethod
    def from_settings(cls, settings) -> Registry:
        return cls(settings.models_dir, settings.model_keep_versions)

    # --- paths ---

    def _dir(self, model_id: str) -> Path:
        return tickers.confined(self.root, model_id)

    def _version_dir(self, model_id: str, version: str) -> Path:
        if not _VERSION.fullmatch(version):
            raise errors.BadRequest(f"{version!r} is not a model version")
        return self._dir(model_id) / version

    def checkpoint_path(self, model_id: str, run_id: str) -> Path:
        """Where the epoch checkpoint of training run ``run_id`` lives."""
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            raise errors.BadRequest(f"{run_id!r} is not a run id")
        return self._dir(model_id) / CHECKPOINTS / f"{run_id}.pt"

    # --- reading ---

    def list_models(self) -> list[str]:
        """Ids that have at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, model_id: str) -> list[str]:
        """Complete versions of ``model_id``, oldest first."""
        folder = self._dir(model_id)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _VERSION.fullmatch(p.name) and (p / META).is_file())

    def serving_version(self, model_id: str) -> str | None:
        """The version predictions use, or None when there is none."""
        try:
            data = json.loads((self._dir(model_id) / SERVING).read_text())
        except FileNotFoundError:
            return None
        version = data.get("version")
        return version if isinstance(version, str) and (self._dir(model_id) / version / META).is_file() else None

    def serving_stamp(self, model_id: str) -> tuple[int, int, int] | None:
        """A cheap fingerprint of ``serving.json`` (inode, mtime, size): it changes whenever the pointer does."""
        try:
            st = (self._dir(model_id) / SERVING).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def meta(self, model_id: str, version: str) -> dict:
        path = self._version_dir(model_id, version) / META
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise errors.NotFound(f"model '{model_id}' has no version {version}") from None

    def load(
        self, model_id: str, version: str | None = None, map_location: str = "cpu", *, evaluated: bool = False
    ) -> Artifact:
        """A version's weights, scalers and meta; ``version=None`` loads the serving version.

        ``evaluated``: the weights its held-out evaluation is of. They differ from the served ones
        only for a refit version; any other version serves its evaluated weights.

        Raises :class:`errors.ModelMissing` when ``model_id`` has no serving version.
        """
        if version is None:
            version = self.serving_version(model_id)
            if version is None:
                raise errors.ModelMissing(
                    f"no trained model for '{model_id}'" if model_id != tickers.PARENT else "parent model missing"
                )
        folder = self._version_dir(model_id, version)
        if not (folder / META).is_file():
            raise errors.NotFound(f"model '{model_id}' has no version {version}")
        weights, scalers = WEIGHTS, SCALERS
        if evaluated and (folder / EVALUATED_WEIGHTS).is_file():
            weights, scalers = EVALUATED_WEIGHTS, EVALUATED_SCALERS
        state = torch.load(folder / weights, map_location=map_location, weights_only=True)
        return Artifact(
            model_id, version, state, json.loads((folder / scalers).read_text()), self.meta(model_id, version)
        )

    # --- writing ---

    def new_version(self, model_id: str) -> str:
        """A fresh version name that sorts after every existing one."""
        now = dt.datetime.now(dt.UTC)
        stamp = int(now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}")
        existing = self.versions(model_id)
        if existing:
            stamp = max(stamp, int(existing[-1][1:18]) + 1)  # clocks can step back; names must not
        return f"v{stamp:017d}-{secrets.token_hex(2)}"

    def save(
        self,
        model_id: str,
        state_dict: dict,
        scalers: dict,
        meta: dict,
        promote: bool = True,
        evaluated: tuple[dict, dict] | None = None,
    ) -> str:
        """Write a new version atomically; make it the serving one when ``promote``. Returns its name.

        ``evaluated``: the weights and scalers the held-out evaluation is of, when they are not the
        served ones (a refit)."""
        folder = self._dir(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        self._remove_stale_tmp(folder)
        version = self.new_version(model_id)
        meta = {**meta, "version": version, "model_id": model_id}
        tmp = folder / f"{atomicfile.TMP_PREFIX}{version}"
        tmp.mkdir()
        files = [(WEIGHTS, SCALERS, state_dict, scalers)]
        if evaluated is not None:
            files.append((EVALUATED_WEIGHTS, EVALUATED_SCALERS, *evaluated))
        try:
            for weights_name, scalers_name, state, scaler_values in files:
                with open(tmp / weights_name, "wb") as fh:
                    torch.save({k: v.detach().cpu() for k, v in state.items()}, fh)  # no device recorded in the file
                    fh.flush()
                    os.fsync(fh.fileno())
                _write_json(tmp / scalers_name, scaler_values)
            _write_json(tmp / META, meta)
            atomicfile.fsync_dir(tmp)
            os.replace(tmp, folder / version)  # the version appears whole or not at all
            atomicfile.fsync_dir(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("saved model %s version %s", model_id, version)
        if promote:
            self.set_serving(model_id, version)
        self._prune(model_id)
        return version

    def save_checkpoint(self, path: Path, state: dict) -> None:
        """Write a run's checkpoint atomically (temp file, fsync, ``os.replace``)."""
        with atomicfile.replace(path, "wb") as fh:
            torch.save(state, fh)

    def remove_checkpoint(self, path: Path) -> None:
        """Remove a run's checkpoint once the run has ended."""
        path.unlink(missing_ok=True)

    def set_serving(self, model_id: str, version: str) -> None:
        """Point ``serving.json`` at ``version`` (atomically)."""
        if not (self._version_dir(model_id, version) / META).is_file():
            raise errors.NotFound(f"model '{model_id}' has no version {version}")
        updated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with atomicfile.replace(self._dir(model_id) / SERVING) as fh:
            json.dump({"version": version, "updated": updated}, fh, indent=1, allow_nan=False)
        log.info("model %s now serves version %s", model_id, version)

    def _prune(self, model_id: str) -> None:
        versions = self.versions(model_id)
        serving = self.serving_version(model_id)
        for version in versions[: -self.keep]:
            if version != serving:
                shutil.rmtree(self._dir(model_id) / version, ignore_errors=True)
                log.info("removed old model %s version %s", model_id, version)

    def _remove_stale_tmp(self, folder: Path) -> None:
        now = time.time()
        for p in folder.glob(f"{atomicfile.TMP_PREFIX}*"):
            try:
                if now - p.stat().st_mtime > _STALE_TMP_S:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            except OSError:
                pass


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())
