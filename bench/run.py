"""chatterm benchmarks: prints numbers and the targets they are held to, asserts nothing.

    python bench/run.py            # the full run (a few minutes)
    python bench/run.py --quick    # about two minutes: fewer runs, one of each TUI run
    python bench/run.py --json     # one JSON object with every figure

Each figure is the median of several runs (one run per TUI figure with --quick), and every
comparison is a ratio of two things measured in the same run. Processes started here get
a fresh CHATTERM_HOME (no config, state, sessions or API key) and a private bytecode cache
(PYTHONPYCACHEPREFIX, warmed by an untimed run), so start-up times are those of an
installed chatterm, whatever PYTHONDONTWRITEBYTECODE says.

The figures:

- render_tps_{1k,5k,10k,50k}: the real TUI (ChatApp under App.run_test, 120x40, headless,
  each frame turned into terminal output as for a real terminal) on ``demo:fast`` streaming
  an answer of that many tokens of realistic Markdown (paragraphs, lists, fenced code,
  tables; bench/answer.py) after a tenth as much reasoning, one token per SSE chunk:
  tokens streamed / seconds from Enter until the final screen is complete (the turn's
  ``finish()`` ran and the screen then painted with nothing left to do). One process per
  run (bench/tui_stream.py).
- render_flatness: render_tps_50k / render_tps_5k.
- render_peak_rss_mb: the peak RSS of the process that streamed the 50k answer (the whole
  process: Python, Textual, the app, the reply and the bench's 10 MB of SSE bytes).
- lag_after_last_ms, frame_p95_ms, frame_cost_ratio: a 20k-token answer (plus 2k of
  reasoning) paced at 3,000 tokens/s. Lag: from the last token leaving the server to the
  final screen. Frame gaps: between frames painted while tokens arrive, 95th percentile.
  Frame cost: event-loop time per tick of the frame clock (applying text, layout, render,
  output), median around 1k answer tokens and over the last 1k; the ratio is last / first.
  The same reply with a fixed 30 fps frame clock instead of the adaptive one, run after
  each of those runs: frame_p95_fixed30_ms, lag_after_last_fixed30_ms.
- decode_chunks_s, decode_vs_openai_sdk: Chat Completions SSE chunks per second through
  chatterm's decoder and translator (bytes in, events out; 20,000 chunks in 1 KiB reads),
  and that over the official openai SDK's rate on the same bytes (in-memory transport).
- startup_ms: process start to the first frame of the chat screen (`chatterm` with no
  key, run headless; bench/startup_probe.py); startup_ratio: that over the same for a
  minimal Textual app with a Header, a Markdown, an Input and a Footer.
- cli_help_ms: wall time of ``chatterm --help`` as a new process; ask_demo_ms the same for
  ``chatterm ask -m demo:fast --json hi``.
- session_open_ms: SessionStore.load of a 2,000-turn JSON session (turns of a few hundred
  tokens with timelines recorded at up to 60 entries/s; bench/sessions_bench.py);
  session_open_toml_ms the same session as TOML (full run).
- session_list_ms: SessionStore.list of 10,000 sessions, index in place;
  session_list_cold_ms without the index (full run).
- session_open_tui_200_ms (full run): the chat screen opening a 200-turn session (as the
  sessions screen's Enter does) until it is painted, on its latest turns (the earlier
  ones are mounted when scrolled to).
- checkpoint_cpu_share: in the 50k render run, CPU time spent saving the session
  (checkpoints, encoding, the writer thread's commits) / the process's CPU time.
- search_ms: ``chatterm sessions search``'s work (the index checked against the folder,
  queried, 50 snippets cut) over 10,000 sessions (about 200 MB of session files) with the
  index built: the median over runs of the slowest of five queries (bench/search_bench.py);
  search_build_mb_s: the index built from nothing, in MB of session files a second;
  search_checkpoint_cpu_share: checkpoint_cpu_share with a search index in the sessions
  folder (the end of the reply indexes it). --quick: 1,000 sessions and a 10k-token reply.
- peer_tps_{approach}, peer_lag_{approach}_ms: the same 20k-token answer (5k with --quick)
  rendered by each way other clients render a stream, in one harness with no network in
  the way (bench/peers_stream.py): chatterm's turn widget, Textual's MarkdownStream (oterm,
  toad), Markdown.update per token (elia; cut off after a budget, marked ``cut``), a whole
  re-parse every 100 ms (parllama) and a plain Log (the floor). Tokens/s unpaced; lag paced
  at 3,000 tokens/s. render_vs_{approach}_20k and lag_vs_{approach}_20k: chatterm's over
  each (above 1 and below 1 respectively mean chatterm is ahead).
- compare_lag_after_last_ms, compare_frame_p95_ms, compare_frame_p50_ms, compare_tps,
  compare_frame_cost_ms, compare_peak_rss_mb: a comparison of four models (Alt+C's path)
  in a 200x50 terminal, each an OpenAI-compatible provider of its own streaming a different
  10k-token answer (plus 1k of reasoning; 5k with --quick) paced at 1,000 tokens/s, all at
  once (bench/tui_compare.py). Lag: from the last token of the last reply leaving its
  server to the final screen (every column finished, the ranking line shown). Frame gaps:
  between frames painted from the first token of any reply to the last of the last. Tokens/s:
  every token of the four replies / seconds from Enter to the final screen. Frame cost: one
  tick of the comparison's frame clock and the screen updates until the next, median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from chatterm.providers.chat_completions_stream import ChatCompletionsParser  # noqa: E402

# name: (target, "min" if higher is better, "max" if lower is better)
TARGETS: dict[str, tuple[float, str]] = {
    "render_tps_50k": (20_000, "min"),
    "render_flatness": (0.8, "min"),
    "render_peak_rss_mb": (100, "max"),
    "lag_after_last_ms": (100, "max"),
    "frame_p95_ms": (33, "max"),
    "frame_cost_ratio": (2, "max"),
    "compare_lag_after_last_ms": (100, "max"),
    "compare_frame_p95_ms": (33, "max"),
    "decode_vs_openai_sdk": (10, "min"),
    "startup_ms": (500, "max"),
    "startup_ratio": (1.2, "max"),
    "cli_help_ms": (150, "max"),
    "session_open_ms": (300, "max"),
    "session_list_ms": (200, "max"),
    "checkpoint_cpu_share": (0.05, "max"),
    "search_ms": (100, "max"),
    "search_build_mb_s": (20, "min"),
    "search_checkpoint_cpu_share": (0.05, "max"),
}
RENDER_SIZES = (1_000, 5_000, 10_000, 50_000)
PACED_TOKENS = 20_000
PACED_RATE = 3_000
COMPARE_MODELS = 4
COMPARE_TOKENS = 10_000  # answer tokens per model
COMPARE_TOKENS_QUICK = 5_000  # CI runs --quick: about 9 s
COMPARE_RATE = 1_000  # tokens/s per model
FIXED_FRAME_S = 1 / 30  # the frame clock compared with the adaptive one in the paced runs
TUI_OPEN_TURNS = 200  # 2,000 would take most of a minute (about 20 ms a turn)
PEERS = ("markdownstream", "update_per_token", "reparse_100ms", "log")


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


# -- decoding -------------------------------------------------------------------------------


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

    # Interleaved, so that a machine that slows down mid-run slows both alike.
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(chatterm_rate())
        theirs.append(sdk_rate())
    figures["decode_chunks_s"] = round(statistics.median(ours))
    sdk = statistics.median(theirs)
    figures["openai_sdk_chunks_s"] = round(sdk)
    figures["decode_vs_openai_sdk"] = round(figures["decode_chunks_s"] / sdk, 1)
    return figures


# -- child processes ------------------------------------------------------------------------


class Children:
    """Runs bench scripts and chatterm in fresh processes with a clean environment."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.endswith("_API_KEY")
            and key not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR", "OPENAI_BASE_URL")
        }
        env.update(
            PYTHONPYCACHEPREFIX=str(scratch / "pycache"),
            TERM="xterm-256color",
            COLORTERM="truecolor",
        )
        self.env = env

    def home(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="home-", dir=self.scratch))

    def run(self, args: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, CHATTERM_HOME=str(self.home()))
        done = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done

    def json(self, script: str, *args: str) -> dict[str, Any]:
        done = self.run([str(BENCH / script), *args])
        return json.loads(done.stdout.strip().splitlines()[-1])

    def wall_ms(self, args: list[str]) -> float:
        start = time.perf_counter()
        self.run(args)
        return (time.perf_counter() - start) * 1000

    def first_frame_ms(self, app: str) -> float:
        started = time.monotonic()
        done = self.run([str(BENCH / "startup_probe.py"), app])
        return (float(done.stdout.strip().splitlines()[-1]) - started) * 1000


@contextmanager
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="chatterm-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- the TUI --------------------------------------------------------------------------------


def bench_render(children: Children, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    by_size: dict[int, list[dict[str, Any]]] = {size: [] for size in RENDER_SIZES}
    for run in range(runs):
        for size in RENDER_SIZES:  # interleaved, so a busy moment does not hit one size only
            result = children.json("tui_stream.py", "--tokens", str(size))
            by_size[size].append(result)
            log(f"render {size:>6} tokens, run {run + 1}: {result['tokens_s']:,.0f} tok/s")
    for size, results in by_size.items():
        figures[f"render_tps_{size // 1000}k"] = round(
            statistics.median(r["tokens_s"] for r in results)
        )
    figures["render_flatness"] = round(figures["render_tps_50k"] / figures["render_tps_5k"], 2)
    biggest = by_size[max(RENDER_SIZES)]
    figures["render_peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in biggest)
    figures["checkpoint_cpu_share"] = round(
        statistics.median(r["checkpoint_cpu_share"] for r in biggest), 4
    )
    return figures


def bench_paced(children: Children, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    results = []
    fixed = []
    paced = ["tui_stream.py", "--tokens", str(PACED_TOKENS), "--rate", str(PACED_RATE)]
    for run in range(runs):  # interleaved: a busy moment hits both clocks alike
        result = children.json(*paced)
        results.append(result)
        log(
            f"paced run {run + 1}: lag {result['lag_after_last_ms']} ms, "
            f"frame p95 {result['frame_p95_ms']} ms, cost ratio {result['frame_cost_ratio']}"
        )
        fixed.append(children.json(*paced, "--frame-s", str(FIXED_FRAME_S)))
        log(
            f"paced run {run + 1}, fixed 30 fps clock: lag {fixed[-1]['lag_after_last_ms']} ms, "
            f"frame p95 {fixed[-1]['frame_p95_ms']} ms"
        )

    def median(key: str, of: list[dict[str, Any]] = results) -> float:
        return statistics.median(r[key] for r in of)

    return {
        "lag_after_last_ms": round(median("lag_after_last_ms"), 1),
        "frame_p95_ms": round(median("frame_p95_ms"), 1),
        "frame_p50_ms": round(median("frame_p50_ms"), 1),
        "frame_cost_ratio": round(median("frame_cost_ratio"), 2),
        "frame_cost_1k_ms": round(median("frame_cost_1k_ms"), 2),
        "frame_cost_20k_ms": round(median("frame_cost_end_ms"), 2),
        "paced_peak_rss_mb": median("peak_rss_mb"),
        "frame_p95_fixed30_ms": round(median("frame_p95_ms", fixed), 1),
        "lag_after_last_fixed30_ms": round(median("lag_after_last_ms", fixed), 1),
    }


def bench_compare(
    children: Children, runs: int, tokens: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Four models streaming side by side, each paced at COMPARE_RATE."""
    # Untimed: fills the bytecode cache (pygments' lexers, the compare screen and the rest
    # imported only once a comparison streams), or the first run compiles them as it goes.
    children.json("tui_compare.py", "--tokens", "1000", "--models", str(COMPARE_MODELS))
    results = []
    for run in range(runs):
        result = children.json(
            "tui_compare.py",
            "--tokens",
            str(tokens),
            "--rate",
            str(COMPARE_RATE),
            "--models",
            str(COMPARE_MODELS),
        )
        results.append(result)
        log(
            f"compare run {run + 1}: lag {result['lag_after_last_ms']} ms, "
            f"frame p95 {result['frame_p95_ms']} ms, cost {result['frame_cost_ms']} ms"
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    return {
        "compare_lag_after_last_ms": round(median("lag_after_last_ms"), 1),
        "compare_frame_p95_ms": round(median("frame_p95_ms"), 1),
        "compare_frame_p50_ms": round(median("frame_p50_ms"), 1),
        "compare_tps": round(median("tokens_s")),
        "compare_frame_cost_ms": round(median("frame_cost_ms"), 2),
        "compare_peak_rss_mb": median("peak_rss_mb"),
    }


def bench_peers(
    children: Children, tokens: int, budget_s: float, log: Callable[[str], None]
) -> dict[str, Any]:
    """chatterm's rendering beside the peers', unpaced and paced, in one harness."""
    figures: dict[str, Any] = {}
    for approach in ("chatterm", *PEERS):
        common = ["--approach", approach, "--tokens", str(tokens), "--budget-s", str(budget_s)]
        fast = children.json("peers_stream.py", *common)
        paced = children.json("peers_stream.py", *common, "--rate", str(PACED_RATE))
        cut = " (cut)" if fast["cut"] else ""
        log(
            f"peer {approach}: {fast['tokens_s']:,.0f} tok/s{cut}, "
            f"lag {paced['lag_after_last_ms']} ms at {PACED_RATE} tok/s"
        )
        figures[f"peer_tps_{approach}"] = fast["tokens_s"]
        if fast["cut"]:
            figures[f"peer_tps_{approach}_cut_after"] = fast["tokens"]
        # A paced run cut short has no lag after the last token to compare.
        figures[f"peer_lag_{approach}_ms"] = "cut" if paced["cut"] else paced["lag_after_last_ms"]
    size = f"{tokens // 1000}k"
    ours_tps, ours_lag = figures["peer_tps_chatterm"], figures["peer_lag_chatterm_ms"]
    for approach in PEERS:
        theirs_tps = figures[f"peer_tps_{approach}"]
        figures[f"render_vs_{approach}_{size}"] = round(ours_tps / theirs_tps, 2)
        lag = figures[f"peer_lag_{approach}_ms"]
        if isinstance(lag, float | int) and lag and isinstance(ours_lag, float | int):
            figures[f"lag_vs_{approach}_{size}"] = round(ours_lag / lag, 3)
        else:
            figures[f"lag_vs_{approach}_{size}"] = "n/a (cut)"
    return figures


def bench_startup(children: Children, runs: int) -> dict[str, Any]:
    children.first_frame_ms("chatterm")  # untimed: fills the bytecode cache
    children.first_frame_ms("minimal")
    children.wall_ms(["-m", "chatterm", "--help"])
    ours: list[float] = []
    minimal: list[float] = []
    ratios: list[float] = []
    for _ in range(runs):  # interleaved: each ratio compares two neighbouring runs
        ours.append(children.first_frame_ms("chatterm"))
        minimal.append(children.first_frame_ms("minimal"))
        ratios.append(ours[-1] / minimal[-1])
    help_ms = [children.wall_ms(["-m", "chatterm", "--help"]) for _ in range(runs)]
    ask = ["-m", "chatterm", "ask", "-m", "demo:fast", "--json", "hi"]
    ask_ms = [children.wall_ms(ask) for _ in range(runs)]
    return {
        "startup_ms": round(statistics.median(ours), 1),
        "startup_minimal_ms": round(statistics.median(minimal), 1),
        "startup_ratio": round(statistics.median(ratios), 2),
        "cli_help_ms": round(statistics.median(help_ms), 1),
        "ask_demo_ms": round(statistics.median(ask_ms), 1),
    }


# -- full-text search -------------------------------------------------------------------------


def bench_search(
    children: Children, quick: bool, runs: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Searching and building the index over many sessions, and saving with it present."""
    sessions, tokens = ("1000", "10000") if quick else ("10000", "50000")
    figures = children.json(
        "search_bench.py", "search", "--sessions", sessions, "--runs", str(runs)
    )
    log(f"search over {sessions} sessions done")
    figures.update(children.json("search_bench.py", "save", "--tokens", tokens))
    log("save with a search index done")
    return figures


# -- the table ------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "load unknown"
    try:
        from importlib.metadata import version

        textual = f"Textual {version('textual')}"
    except Exception:  # noqa: BLE001 - only a label
        textual = "Textual ?"
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {textual}, {load}"
    )


def verdict(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    target, kind = TARGETS[name]
    met = value >= target if kind == "min" else value <= target
    return ("met" if met else "MISSED") + f" ({'≥' if kind == 'min' else '≤'} {target:g})"


def table(figures: dict[str, Any]) -> str:
    width = max(map(len, figures))
    lines = []
    for name, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int | float) else str(value)
        lines.append(f"{name:<{width}}  {shown:>12}  {verdict(name, value)}".rstrip())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, about two minutes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only",
        help="comma-separated parts: decode,startup,render,paced,compare,sessions,search,peers",
    )
    options = parser.parse_args()
    quick = options.quick
    runs = 3 if quick else 7
    tui_runs = 1 if quick else 3
    everything = "decode,startup,render,paced,compare,sessions,search,peers"
    parts = set((options.only or everything).split(","))
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:5.1f}s] {message}", file=sys.stderr, flush=True)

    figures: dict[str, Any] = {}
    with scratch_dir() as scratch:
        children = Children(scratch)
        if "render" in parts:
            figures.update(bench_render(children, tui_runs, log))
        if "paced" in parts:
            figures.update(bench_paced(children, tui_runs, log))
        if "compare" in parts:
            compare_tokens = COMPARE_TOKENS_QUICK if quick else COMPARE_TOKENS
            figures.update(bench_compare(children, tui_runs, compare_tokens, log))
        if "peers" in parts:
            peer_tokens, budget_s = (5_000, 10.0) if quick else (PACED_TOKENS, 60.0)
            figures.update(bench_peers(children, peer_tokens, budget_s, log))
        if "decode" in parts:
            figures.update(bench_decode(5_000 if quick else 20_000, runs))
            log("decode done")
        if "startup" in parts:
            figures.update(bench_startup(children, runs))
            log("startup done")
        if "sessions" in parts:
            formats = "json" if quick else "json,toml"
            figures.update(
                children.json(
                    "sessions_bench.py", "open", "--runs", str(runs), "--formats", formats
                )
            )
            log("session open done")
            extra = [] if quick else ["--cold"]
            figures.update(children.json("sessions_bench.py", "list", "--runs", str(runs), *extra))
            log("session list done")
            if not quick:
                turns = str(TUI_OPEN_TURNS)
                figures.update(children.json("sessions_bench.py", "tui", "--turns", turns))
                log("session open in the TUI done")
        if "search" in parts:
            figures.update(bench_search(children, quick, runs, log))
    ordered = {name: figures[name] for name in TARGETS if name in figures}
    ordered.update((name, value) for name, value in figures.items() if name not in ordered)
    if options.json:
        print(json.dumps(ordered))
        return
    print(f"chatterm bench{' --quick' if quick else ''}: {machine()}")
    print(table(ordered))


if __name__ == "__main__":
    main()
