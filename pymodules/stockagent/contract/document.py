"""The contract as a JSON document: the input of Go's generator (server/pyapi/gen).

``python -m stockagent.contract.document OUT`` writes it (``go generate ./server/pyapi`` runs this);
a test compares the committed copy with a fresh one, so a declaration never drifts from Go's code.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import errors
from .registry import MODULES, REGISTRY

TYPES_REF = "#/types/{model}"


def document() -> dict[str, Any]:
    """Every entry point of :data:`registry.MODULES`, the error kinds and the models' JSON Schemas."""
    for module in MODULES:
        importlib.import_module(module)
    entries = sorted(REGISTRY.values(), key=lambda e: (MODULES.index(e.module), e.name))
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(e.request, "validation") for e in entries if e.request}
    models |= {(e.response, "serialization") for e in entries if e.response}
    _, schema = models_json_schema(sorted(models, key=lambda m: (m[0].__name__, m[1])), ref_template=TYPES_REF)
    kinds = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.StockAgentError) and cls is not errors.StockAgentError
    ]
    return {
        "modules": list(MODULES),
        "errors": [
            {"name": k.__name__, "type": f"{k.__module__}.{k.__qualname__}", "doc": inspect.getdoc(k)}
            for k in sorted(kinds, key=lambda k: k.__name__)
        ],
        "entries": [
            {
                "name": e.name,
                "function": e.function,
                "domain": e.domain,
                "lane": e.lane,
                "doc": e.doc,
                "request": e.request.__name__ if e.request else None,
                "response": e.response.__name__ if e.response else None,
                "raises": sorted({k.__name__ for k in e.raises}),
            }
            for e in entries
        ],
        "types": schema.get("$defs", {}),
    }


def render() -> str:
    return json.dumps(document(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render())
