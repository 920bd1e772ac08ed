"""``chatterm stats``: what each model cost and how fast it answered, over every saved
reply (alternatives included), from the session index (no session file is opened while
the index is intact).

A table, or with ``--json`` JSON Lines: one ``model`` record per model, the most spent on
first, then one ``total`` record (README, "JSON Lines contract"). ``--since`` takes a day or
a number of days (:func:`~chatterm.sessions.stats.parse_since`), in local time. Exit codes:
0 done, 1 the sessions folder cannot be read, 2 a bad ``--since``. Sessions whose files
cannot be read are counted in one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from chatterm.cli.common import EXIT_FAILED, EXIT_OK, fail
from chatterm.cli.printer import json_line
from chatterm.pricing import format_usd
from chatterm.reply.figures import format_ms
from chatterm.sessions.stats import ModelStats, parse_since, per_model, replies_of, since, stats_of
from chatterm.sessions.store import SessionError, SessionStore
from chatterm.text import visible_line

_HEADERS = ("MODEL", "REPLIES", "TOKENS IN", "TOKENS OUT", "COST", "TTFT", "TOKENS/S")
MODEL_WIDTH = 48


def stats_command(
    args: argparse.Namespace,
    *,
    stdout: TextIO,
    stderr: TextIO | None = None,
    store: SessionStore | None = None,
    today: date | None = None,
) -> int:
    err = stderr if stderr is not None else sys.stderr
    first_day: date | None = None
    if args.since is not None:
        try:
            first_day = parse_since(args.since, today or date.today())
        except ValueError as exc:
            return fail(str(exc))
    store = store or SessionStore()
    try:
        summaries = store.list(figures=True)
    except SessionError as exc:
        return fail(str(exc), EXIT_FAILED)
    records = replies_of(summaries)
    if first_day is not None:
        records = since(records, first_day)
    models = per_model(records)
    total = stats_of(records)
    if args.json:
        for stats in models:
            stdout.write(json_line({"type": "model", **stats_record(stats)}) + "\n")
        record = {"type": "total", **stats_record(total), "models": len(models)}
        record["since"] = first_day.isoformat() if first_day else None
        stdout.write(json_line(record) + "\n")
    elif not records:
        when = f" since {first_day.isoformat()}" if first_day else ""
        stdout.write(f"no replies{when} in the saved sessions\n")
    else:
        write_table(models, total, stdout)
    stdout.flush()
    unreadable = sum(1 for summary in summaries if summary.problem is not None)
    if unreadable and err is not None:
        files = "file" if unreadable == 1 else "files"
        err.write(
            f"chatterm: {unreadable} session {files} could not be read and are not counted "
            "(chatterm sessions list names them)\n"
        )
    return EXIT_OK


def stats_record(stats: ModelStats) -> dict[str, Any]:
    """The JSON fields of one model's (or the total's) figures."""
    record: dict[str, Any] = {} if stats.model is None else {"model": stats.model}
    record.update(
        replies=stats.replies,
        input_tokens=stats.input_tokens,
        output_tokens=stats.output_tokens,
        cost_usd=stats.cost_usd if stats.cost_known or not stats.replies else None,
        cost_unknown=stats.cost_unknown,
        median_ttft_ms=stats.median_ttft_ms,
        median_tokens_per_s=stats.median_tokens_per_s,
    )
    return record


def cost_text(stats: ModelStats) -> str:
    """``$0.042``, ``$0.042 + 3 unknown``, or ``unknown`` when no reply's cost is known."""
    if stats.replies and not stats.cost_known:
        return "unknown"
    text = format_usd(stats.cost_usd)
    return f"{text} + {stats.cost_unknown} unknown" if stats.cost_unknown else text


def speed_text(tokens_per_s: float | None) -> str:
    return "–" if tokens_per_s is None else f"{tokens_per_s:.1f}"


def table_row(stats: ModelStats) -> tuple[str, ...]:
    """One row of the table: the model's name made visible and cut, then its figures."""
    name = "total" if stats.model is None else visible_line(stats.model)
    if len(name) > MODEL_WIDTH:
        name = name[: MODEL_WIDTH - 1] + "…"
    return (
        name,
        str(stats.replies),
        f"{stats.input_tokens:,}",
        f"{stats.output_tokens:,}",
        cost_text(stats),
        format_ms(stats.median_ttft_ms),
        speed_text(stats.median_tokens_per_s),
    )


def write_table(models: Sequence[ModelStats], total: ModelStats, out: TextIO) -> None:
    rows = [_HEADERS, *(table_row(stats) for stats in models)]
    if len(models) > 1:
        rows.append(table_row(total))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    for row in rows:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write("TTFT and tokens/s are medians; every reply counts, alternatives included\n")
