"""chatterm benchmarks: prints numbers, asserts nothing.

    python bench/run.py            # full run
    python bench/run.py --quick    # under a minute
    python bench/run.py --json     # one JSON object with every figure

Each figure is the median of several runs; comparisons are ratios measured in the same run.

Figures so far:
- decode_chunks_s: Chat Completions SSE chunks per second through chatterm's decoder and
  translator (bytes in, normalized events out), 20,000-chunk stream in 1 KiB reads.
- decode_vs_openai_sdk: that rate divided by the official openai SDK's rate on the same bytes
  (``chat.completions.create(stream=True)`` over an in-memory transport), if it is installed.
- cli_help_ms: wall time of ``chatterm --help`` as a new process.
- ask_demo_ms: wall time of ``chatterm ask -m demo:fast`` as a new process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatterm.providers.openai_compat import ChatCompletionsParser  # noqa: E402


def chat_stream(chunks: int) -> bytes:
    parts = []
    for i in range(chunks):
        delta = {"reasoning_content": f"thought {i} "} if i < chunks // 4 else {"content": f"w{i} "}
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1750000000,
            "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        parts.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    end = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1750000000,
        "model": "bench",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    parts.append(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
    return b"".join(parts)


def reads(data: bytes, size: int = 1024) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def bench_decode(chunks: int, runs: int) -> dict[str, float]:
    pieces = reads(chat_stream(chunks))

    def chatterm_rate() -> float:
        start = time.perf_counter()
        parser = ChatCompletionsParser()
        for piece in pieces:
            parser.feed(piece)
        parser.close()
        return chunks / (time.perf_counter() - start)

    figures = {"decode_chunks_s": round(median_of(runs, chatterm_rate))}
    try:
        import httpx
        import openai
    except ImportError:
        return figures

    body = b"".join(pieces)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(reads(body))
        )

    def sdk_rate() -> float:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            client = openai.OpenAI(
                api_key="bench", base_url="http://bench.invalid/v1", http_client=http
            )
            start = time.perf_counter()
            stream = client.chat.completions.create(model="bench", messages=[], stream=True)
            for _ in stream:
                pass
            return chunks / (time.perf_counter() - start)

    sdk = median_of(runs, sdk_rate)
    figures["openai_sdk_chunks_s"] = round(sdk)
    figures["decode_vs_openai_sdk"] = round(figures["decode_chunks_s"] / sdk, 1)
    return figures


def bench_process(args: list[str], runs: int) -> float:
    def once() -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chatterm", *args], capture_output=True, check=True)
        return (time.perf_counter() - start) * 1000

    return round(median_of(runs, once), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller inputs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()
    runs = 3 if options.quick else 7
    figures: dict[str, float] = {}
    figures.update(bench_decode(5_000 if options.quick else 20_000, runs))
    figures["cli_help_ms"] = bench_process(["--help"], runs)
    figures["ask_demo_ms"] = bench_process(["ask", "-m", "demo:fast", "--json", "hi"], runs)
    if options.json:
        print(json.dumps(figures))
        return
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:>12,}")


if __name__ == "__main__":
    main()
