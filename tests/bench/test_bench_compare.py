"""The comparison benchmark runs: bench/tui_compare.py streams a tiny comparison through the
real TUI and prints its figures, and bench/run.py's compare section reads them and holds
two of them to targets. Speed is measured by bench/run.py, never asserted here."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def bench_run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(*args: str) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    done = subprocess.run(
        [sys.executable, str(BENCH / "tui_compare.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_tiny_paced_comparison_streams_whole_side_by_side_and_feeds_run_py() -> None:
    result = compare("--tokens", "150", "--rate", "2000", "--models", "2")
    # The script itself checks that each column's reply arrived whole.
    assert result["models"] == 2 and result["answer_tokens_each"] == 150
    assert result["tokens_each"] == 150 + 15  # and a tenth as much reasoning
    assert result["side_by_side"] is True  # 200 cells wide: columns, not stacked
    assert result["frames"] > 0 and result["tokens_s"] > 0
    assert result["lag_after_last_ms"] >= 0 and result["peak_rss_mb"] > 0

    run = bench_run_module()
    assert {"compare_lag_after_last_ms", "compare_frame_p95_ms"} <= set(run.TARGETS)

    class Children:
        def json(self, script: str, *args: str) -> dict[str, Any]:
            assert script == "tui_compare.py"
            return result

    figures = run.bench_compare(Children(), 2, 150, lambda message: None)
    assert figures["compare_lag_after_last_ms"] == result["lag_after_last_ms"]
    # A reply this short may stream whole between two frames: no gap to measure (NaN).
    p95 = result["frame_p95_ms"]
    assert figures["compare_frame_p95_ms"] == round(p95, 1) or math.isnan(p95)
    assert "compare_frame_p95_ms" in run.table(figures)
