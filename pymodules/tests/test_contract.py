"""The Go↔Python contract: the registry, its requests' validation, the document Go is generated
from, and the package's import graph."""

import ast
import json
from pathlib import Path

import pydantic
import pytest

import stockagent
from stockagent import errors
from stockagent.contract import document, registry
from stockagent.contract.models import HistoryRequest, TickerRequest

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "server" / "pyapi" / "contract.json"


def test_committed_document_is_current():
    assert COMMITTED.read_text() == document.render(), "contract.json is stale: run go generate ./server/pyapi"


def test_every_entry_point_is_in_a_declared_module_with_known_errors():
    doc = document.document()
    kinds = {k["name"] for k in doc["errors"]}
    assert {e["module"] for e in map(vars, registry.REGISTRY.values())} == set(registry.MODULES)
    for e in doc["entries"]:
        assert set(e["raises"]) <= kinds, e["name"]
        assert e["lane"] in ("inference", "long", "agent"), e["name"]
        assert e["doc"], f"{e['name']} has no docstring: Go's method comment is made from it"


def test_a_name_is_declared_once():
    def noop() -> dict:
        """A second noop."""
        return {}

    with pytest.raises(ValueError, match="'noop' is declared twice"):
        registry.entry(lane="inference")(noop)


@pytest.mark.parametrize(
    "payload, kind, message",
    [
        (b'{"ticker": "AAPL", "tikcer": 1}', errors.BadRequest, "unknown field(s): tikcer; expected limit, ticker"),
        (b"{}", errors.BadRequest, "missing field 'ticker'"),
        (b'{"ticker": 7}', errors.BadRequest, "ticker must be a string, got an integer"),
        (b'{"ticker": "AAPL", "limit": "5"}', errors.BadRequest, "limit must be an integer, got a string"),
        (b'{"ticker": "AAPL", "limit": true}', errors.BadRequest, "limit must be an integer, got true"),
        (b'{"ticker": "AAPL", "limit": null}', errors.BadRequest, "limit must be an integer, got null"),
        (
            b'{"ticker": "AAPL", "limit": 0}',
            errors.InvalidParameter,
            "limit: input should be greater than or equal to 1",
        ),
        (b'{"ticker": "../etc"}', errors.BadRequest, "ticker"),
        (b"[1]", errors.BadRequest, "request must be a JSON object"),
        (b"{", errors.BadRequest, "request is not valid JSON"),
    ],
)
def test_requests_are_refused_with_a_plain_message(payload, kind, message):
    with pytest.raises(kind) as caught:
        registry.parse(HistoryRequest, payload)
    assert type(caught.value) is kind and message in str(caught.value)


def test_a_valid_request_is_parsed_and_normalized(load_env):
    load_env()
    assert registry.parse(HistoryRequest, b'{"ticker": " aapl "}') == HistoryRequest(ticker="AAPL", limit=50)
    assert registry.parse(TickerRequest, b'{"ticker": "PARENT"}').ticker == "parent"


def test_an_entry_without_fields_refuses_any():
    noop = registry.REGISTRY["noop"]
    call = __import__(noop.module, fromlist=["noop"]).noop
    assert json.loads(call(b"")) == json.loads(call(b"{}")) == {}
    with pytest.raises(errors.BadRequest, match="unknown field"):
        call(b'{"x": 1}')


def test_a_typed_answer_that_breaks_its_model_fails():
    class Answer(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        n: int

    def broken_answer() -> dict:
        """An answer with a field the model does not declare."""
        return {"n": 1, "extra": 2}

    call = registry.entry(lane="inference", response=Answer)(broken_answer)
    try:
        with pytest.raises(pydantic.ValidationError):
            call(b"{}")
    finally:
        registry.REGISTRY.pop("broken_answer")


def _module_imports(path: Path, name: str, package: bool) -> set[str]:
    """The stockagent modules ``name`` imports when it is imported (module level only: imports
    inside functions run later and cannot take part in a cycle of imports)."""
    out: set[str] = set()
    base = name if package else name.rpartition(".")[0]
    for node in ast.parse(path.read_text()).body:
        for n in ast.walk(node) if isinstance(node, (ast.Try, ast.If)) else [node]:
            if isinstance(n, ast.Import):
                out.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom):
                parent = base
                for _ in range(n.level - 1):
                    parent = parent.rpartition(".")[0]
                src = (f"{parent}.{n.module}" if n.module else parent) if n.level else n.module
                out.update(f"{src}.{a.name}" for a in n.names)
                out.add(src)
    return out


def _cycle(root: Path) -> list[str] | None:
    """The first import cycle among the modules of the package at ``root``, or None."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if package else parts)] = (path, package)
    graph = {
        name: sorted(m for m in _module_imports(path, name, package) if m in modules and m != name)
        for name, (path, package) in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> list[str] | None:
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name in done:
            return None
        for dep in graph[name]:
            if found := visit(dep, [*stack, name]):
                return found
        done.add(name)
        return None

    return next((c for name in sorted(graph) if (c := visit(name, []))), None)


def test_the_package_has_no_import_cycle():
    cycle = _cycle(Path(stockagent.__file__).parent)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    assert _cycle(pkg) is None  # an import inside a function runs later
    (pkg / "sub" / "b.py").write_text("try:\n    from ..a import x\nexcept ImportError:\n    pass\n")
    assert _cycle(pkg) == ["pkg.a", "pkg.sub.b", "pkg.a"]
