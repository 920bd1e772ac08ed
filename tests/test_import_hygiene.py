"""The streaming core must not pull in the TUI: `chatterm ask` and scripts start fast."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE_MODULES = (
    "chatterm.cli.main",
    "chatterm.network.stream",
    "chatterm.providers.registry",
    "chatterm.reply.accumulate",
    "chatterm.cli.printer",
    "chatterm.reply.figures",
)

_PROBE = """
import json, sys
for name in {modules!r}:
    __import__(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def imported_heavy_modules(modules: tuple[str, ...], heavy: tuple[str, ...]) -> list[str]:
    """Import ``modules`` in a fresh interpreter; return which of ``heavy`` got loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(modules=modules, heavy=heavy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_core_does_not_import_textual() -> None:
    assert imported_heavy_modules(CORE_MODULES, ("textual",)) == []


def test_core_does_not_import_the_tui_package() -> None:
    loaded = imported_heavy_modules(CORE_MODULES, ("chatterm",))
    assert "chatterm.network.stream" in loaded
    assert not any(m == "chatterm.tui" or m.startswith("chatterm.tui.") for m in loaded)


def test_genai_prices_is_loaded_lazily() -> None:
    # pricing imports genai-prices (and pydantic) only when a table price is needed.
    assert imported_heavy_modules(CORE_MODULES, ("genai_prices",)) == []


def test_probe_detects_an_import() -> None:
    # Positive control: the probe does see textual when something imports it.
    assert "textual" in imported_heavy_modules(("textual",), ("textual",))


# What the TUI imports before its first frame (bench/run.py's startup_ratio): what only a
# reply, another screen or an export needs waits until then (see chatterm.startup).
TUI_START_MODULES = ("chatterm.startup", "chatterm.cli.main", "chatterm.tui.app")
NOT_AT_TUI_START = (
    "httpx",
    "chatterm.network.stream",
    "chatterm.catalogue.discovery",
    "chatterm.catalogue.listing",
    "chatterm.sessions.export",
    "chatterm.sessions.search",
    "sqlite3",
    "chatterm.cli.printer",
    "chatterm.tui.screens.model_picker",
    "chatterm.tui.screens.role_picker",
    "chatterm.tui.screens.sessions",
    "chatterm.tui.screens.replay",
    "chatterm.tui.screens.prompt_search",
    "chatterm.tui.screens.stats",
    "chatterm.cli.stats",
    "textual_plotext",
    "plotext",
    "email",
)


def test_the_tui_paints_its_first_frame_without_the_network_stack() -> None:
    loaded = imported_heavy_modules(
        TUI_START_MODULES, ("httpx", "chatterm", "email", "textual_plotext", "plotext", "sqlite3")
    )
    assert "chatterm.tui.app" in loaded  # the probe saw the imports
    assert [m for m in NOT_AT_TUI_START if m in loaded] == []


# The lazy imports the layering contract lists as deliberate (pyproject.toml,
# [tool.importlinter], the "startup" contract's ignore_imports): each must stay lazy, or the
# exception hides a real import at start-up.
def _deliberate_lazy_imports() -> list[tuple[str, str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pairs: list[tuple[str, str]] = []
    for contract in pyproject["tool"]["importlinter"]["contracts"]:
        for line in contract.get("ignore_imports", ()):
            importer, _, imported = (part.strip() for part in line.partition("->"))
            if importer.endswith(".*"):
                package = importer[:-2]
                folder = ROOT / package.replace(".", "/")
                pairs += [(f"{package}.{path.stem}", imported) for path in folder.glob("*.py")]
            else:
                pairs.append((importer, imported))
    return sorted(set(pairs))


LAZY_IMPORTS = _deliberate_lazy_imports()


def test_the_contract_lists_lazy_imports() -> None:
    assert ("chatterm.tui.app", "chatterm.network.stream") in LAZY_IMPORTS
    assert ("chatterm.providers.openai_compat", "httpx") in LAZY_IMPORTS


@pytest.mark.parametrize(("importer", "imported"), LAZY_IMPORTS)
def test_a_deliberate_lazy_import_is_lazy(importer: str, imported: str) -> None:
    top = imported.split(".")[0]
    loaded = imported_heavy_modules((importer,), (top,))
    assert imported not in loaded, f"{importer} imports {imported} when it is imported"
