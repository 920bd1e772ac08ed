"""``python -m chatterm``."""

from chatterm.launch import main

raise SystemExit(main())
