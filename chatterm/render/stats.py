"""One-line summaries of a finished reply: the same wording in the TUI, `ask` and replay."""

from __future__ import annotations

from chatterm.accumulate import Reply


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


def format_tokens(reply: Reply) -> str:
    usage = reply.usage
    est = "~" if usage.estimated else ""
    text = f"in {est}{usage.input_tokens:,}"
    if usage.cached_input_tokens:
        text += f" (cached {usage.cached_input_tokens:,})"
    text += f" · out {est}{usage.output_tokens:,}"
    if usage.reasoning_tokens:
        text += f" (reasoning {est}{usage.reasoning_tokens:,})"
    if usage.estimated:
        text += " est."
    return text


def stats_parts(reply: Reply) -> list[str]:
    """The pieces of the stats line, in reading order."""
    metrics = reply.metrics
    parts = [
        f"TTFT {format_ms(metrics.ttft_ms)}",
        f"answer {format_ms(metrics.first_answer_ms)}",
        f"total {format_ms(metrics.duration_ms)}",
        format_tokens(reply),
    ]
    if metrics.tokens_per_s is not None:
        parts.append(f"{metrics.tokens_per_s:,.1f} tok/s")
    if reply.cost is not None:
        parts.append(reply.cost.label())
    if reply.finish_reason not in (None, "stop"):
        parts.append(str(reply.finish_reason))
    if reply.warnings:
        parts.append(f"{len(reply.warnings)} warning(s)")
    return parts


def format_stats(reply: Reply) -> str:
    return " · ".join(stats_parts(reply))
