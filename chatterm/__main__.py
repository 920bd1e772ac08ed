"""``python -m chatterm``."""

from chatterm.cli import main

raise SystemExit(main())
