"""The README's promises that a test can hold: CI runs exactly its test line."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_test_line() -> str:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    return lines[lines.index("<!-- test-line -->") + 1].strip()


def test_ci_runs_the_readme_test_line_verbatim() -> None:
    line = readme_test_line()
    assert "pytest" in line and "ruff" in line and "mypy" in line
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert line in ci_lines


def test_readme_documents_every_key_binding() -> None:
    from chatterm.tui.bindings import ALL_BINDINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for binding in ALL_BINDINGS:
        assert f"`{binding.id}`" in readme, binding.id


def test_the_readme_theme_example_loads(tmp_path: Path) -> None:
    from chatterm.tui.themes import load_themes

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Themes", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mine.toml").write_text(example, encoding="utf-8")
    themes, failures = load_themes([tmp_path])
    assert [theme.name for theme in themes] == ["my-theme"] and not failures
