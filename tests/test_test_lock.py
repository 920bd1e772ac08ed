"""The README's test line installs the pinned tools: requirements/test.lock is complete for
pyproject.toml, and what is installed is what it pins."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "test.lock"


def locked() -> dict[str, tuple[str, set[str]]]:
    """Every pin of the lock that applies to this machine: name -> (version, what needs it,
    from the lock's ``# via`` comments)."""
    pins: dict[str, tuple[str, set[str]]] = {}
    needed_by: set[str] = set()
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        comment = line.strip().removeprefix("#").strip()
        if line.startswith(" "):  # "# via a", or "# via" and then "#   a" lines
            source = re.sub(r"^via(\s|$)", "", comment).strip()
            if source:
                needed_by.add(source if source.startswith("-r ") else canonicalize_name(source))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        [spec] = requirement.specifier
        assert spec.operator == "==", line  # a pin, not a range
        needed_by = set()
        if requirement.marker is None or requirement.marker.evaluate():
            pins[canonicalize_name(requirement.name)] = (spec.version, needed_by)
    return pins


def build_only(pins: dict[str, tuple[str, set[str]]]) -> set[str]:
    """The pins that only pip's isolated build of chatterm installs (hatchling and what
    only it needs): they are not in the test environment."""
    only: set[str] = set()
    while True:
        more = {
            name
            for name, (_, needed_by) in pins.items()
            if needed_by and needed_by <= {"-r requirements/build.in", *only}
        } - only
        if not more:
            return only
        only |= more


def test_the_lock_pins_every_dependency_and_test_tool_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["test"],
        *project["build-system"]["requires"],
    ]
    pins = locked()
    environment = {**default_environment(), "extra": "test"}
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {LOCK.name}: regenerate it (README)"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in {LOCK.name} is outside {text!r}: regenerate it (README)"
        )


def test_what_is_installed_is_what_the_lock_pins() -> None:
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    pins = locked()
    not_here = build_only(pins)
    assert "hatchling" in not_here and "pytest" not in not_here
    wrong = {
        name: (installed.get(name), version)
        for name, (version, _) in pins.items()
        if installed.get(name) != version and not (name in not_here and name not in installed)
    }
    assert not wrong, (
        f"installed vs {LOCK.name}: {wrong}; install with the README's test line "
        "(PIP_CONSTRAINT=requirements/test.lock pip install -e '.[test]')"
    )


def test_everything_the_test_extras_pull_in_is_pinned() -> None:
    """Walks the installed requirements from chatterm[test] down: a dependency that a new
    release of some package adds would otherwise come in at whatever version is newest."""
    pins = locked()
    todo: list[tuple[str, frozenset[str]]] = [("chatterm", frozenset({"test"}))]
    seen: set[tuple[str, frozenset[str]]] = set(todo)
    while todo:
        name, extras = todo.pop()
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({"extra": extra}) for extra in (*extras, "")
            ):
                continue
            needed = canonicalize_name(requirement.name)
            if needed == "chatterm":
                continue
            assert needed in pins, (
                f"{needed} (needed by {name}) is not pinned in {LOCK.name}: regenerate it "
                "(README, Development)"
            )
            key = (needed, frozenset(requirement.extras))
            if key not in seen:
                seen.add(key)
                todo.append(key)
    assert len(seen) > 20  # the walk went down the tree, not just one level
