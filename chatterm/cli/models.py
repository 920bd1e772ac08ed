"""``chatterm models``: every model chatterm can offer, with reasoning support, context
window, prices and whether its key is set.

The built-in catalogue and the config's models are listed at once; servers are asked for
theirs (Ollama, ``[providers.NAME]``, a non-OpenAI ``OPENAI_BASE_URL``) concurrently, at most
two seconds each, unless their list is cached (ten minutes) or ``--offline`` is given. A
server that fails is one line on stderr and does not change the exit code. Exit codes: 0
listed, 2 an invalid config.

This module is imported for ``chatterm --help``: discovery, the catalogue and genai-prices
are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from chatterm.cli.common import EXIT_OK, fail
from chatterm.cli.printer import json_line
from chatterm.config import load_settings
from chatterm.errors import ConfigError
from chatterm.text import safe_text

if TYPE_CHECKING:
    from chatterm.catalogue.discovery import DiscoveryClientFactory
    from chatterm.catalogue.listing import CatalogueEntry

DISCOVERY_TIMEOUT_S = 2.0
_HEADERS = ("PROVIDER", "MODEL", "REASONING", "CONTEXT", "IN $/M", "OUT $/M", "KEY", "SOURCE")
_RIGHT = frozenset({3, 4, 5})  # numbers line up on the right


def models_command(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    client_factory: DiscoveryClientFactory | None = None,
) -> int:
    out = stdout or sys.stdout  # cli.main has checked that it is open
    err = stderr or sys.stderr
    env = os.environ if env is None else env
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc))
    from chatterm.catalogue.discovery import cached_discovery, discover
    from chatterm.catalogue.listing import catalogue

    if args.offline:
        found = cached_discovery(settings, env)
    else:
        found = asyncio.run(
            discover(
                settings,
                env,
                client_factory=client_factory,
                timeout=DISCOVERY_TIMEOUT_S,
                refresh=args.refresh,
            )
        )
    entries = catalogue(settings, env, found.models)
    if args.json:
        for entry in entries:
            out.write(json_line(entry.to_json()) + "\n")
    else:
        write_table(entries, out)
    out.flush()
    if err is not None:
        problems = [e.key_problem for e in entries if key_status(e) == "error" and e.key_problem]
        for note in [*found.notes.values(), *problems]:
            err.write(f"chatterm: {safe_text(note)}\n")
    return EXIT_OK


def write_table(entries: Sequence[CatalogueEntry], out: TextIO) -> None:
    rows = [_HEADERS, *(_row(entry) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    for row in rows:
        cells = [
            cell.rjust(width) if i in _RIGHT else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    if any(entry.price_tiered for entry in entries):
        out.write("* a higher price applies above a prompt size; the lowest is shown\n")


def _row(entry: CatalogueEntry) -> tuple[str, ...]:
    tier = "*" if entry.price_tiered else ""
    return (
        _cell(entry.provider),
        _cell(entry.model),
        "yes" if entry.reasoning else "no",
        format_tokens(entry.context_window),
        format_price(entry.input_per_mtok) + tier,
        format_price(entry.output_per_mtok) + tier,
        key_status(entry),
        entry.source,
    )


def _cell(text: str) -> str:
    """One line of terminal-safe text: a newline or tab in a server's model name is shown."""
    return safe_text(text).replace("\n", "\u240a").replace("\t", "\u2409")


def key_status(entry: CatalogueEntry) -> str:
    """``set``, ``missing VAR``, ``not needed``, or ``error`` (the model name is invalid, or
    the key cannot be used: the reason goes to stderr)."""
    if entry.key_problem is not None:
        return f"missing {entry.key_env}" if entry.key_env and not entry.key_set else "error"
    if entry.key_set:
        return "set"
    return "not needed"


def format_tokens(count: int | None) -> str:
    """``400k``, ``1.05M``, ``128k``; ``-`` when not known."""
    if count is None:
        return "-"
    if count >= 1_000_000:
        return f"{count / 1_000_000:.3g}M"
    if count >= 1_000:
        return f"{count / 1_000:.3g}k"
    return str(count)


def format_price(usd: float | None) -> str:
    """Dollars per million tokens as the price lists write them: ``0.25``, ``10``, ``0.039``."""
    if usd is None:
        return "-"
    return f"{usd:.6f}".rstrip("0").rstrip(".")
