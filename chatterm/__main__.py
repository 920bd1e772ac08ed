"""The ``chatterm`` command and ``python -m chatterm``: pause the collector, then run the CLI.

The CLI is imported only after the pause, so the imports it triggers run without
collections (:mod:`chatterm.startup`).
"""

from chatterm.startup import pause_collector


def main() -> int:
    pause_collector()
    from chatterm.cli.main import main as run_command

    return run_command()


if __name__ == "__main__":
    raise SystemExit(main())
