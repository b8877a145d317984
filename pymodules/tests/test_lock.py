"""The locks (pymodules/*.lock) that make's install rule installs with --require-hashes: every
third-party package this interpreter has is pinned there with its hashes, and nothing in them
points pip at another index or at a file outside the registry."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

PYMODULES = Path(__file__).resolve().parents[1]
LOCKS = [PYMODULES / "requirements.lock", PYMODULES / "build-requirements.lock"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes); asserts the file's form on the way."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0].strip()
        if not code:
            continue
        where = f"{path.name}:{number}: {line.strip()}"
        # an option line (an index, find-links, a nested file) or a direct URL would bypass the pins
        assert not code.startswith("-") or code.startswith("--hash="), f"option in the lock: {where}"
        assert "://" not in code and " @ " not in code, f"a URL in the lock: {where}"
        if m := PIN.match(code):
            current = normalize(m[1])
            assert current not in pins, f"pinned twice: {where}"
            pins[current] = (m[2], 0)
        else:
            assert current and code.startswith("--hash="), f"not a pin or a hash: {where}"
        hashes = len(HASH.findall(code))
        version, count = pins[current]
        pins[current] = (version, count + hashes)
    return pins


def test_lock_pins_every_installed_package_with_hashes():
    locked: dict[str, tuple[str, int]] = {}
    for path in LOCKS:
        for name, (version, hashes) in read_lock(path).items():
            assert hashes >= 1, f"{path.name}: {name}=={version} has no hash"
            assert locked.get(name, (version, 0))[0] == version, f"{name}: the locks pin two versions"
            locked[name] = (version, hashes)
    assert {"torch", "llama-cpp-python", "schemathesis", "pytest", "scikit-build-core"} <= locked.keys()

    installed = {normalize(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    installed.pop("stockagent")  # the project itself, installed from source with --no-deps
    unpinned = sorted(set(installed) - set(locked))
    assert not unpinned, f"installed but not in the locks: {unpinned}"
    # `python -m venv` seeds its own pip and setuptools; the install rule replaces them with the
    # locked ones, so only a virtual environment that make did not install differs there.
    stale = {n: (v, locked[n][0]) for n, v in installed.items() if v != locked[n][0] and n not in {"pip", "setuptools"}}
    assert not stale, f"installed at another version than the lock's (installed, locked): {stale}"
