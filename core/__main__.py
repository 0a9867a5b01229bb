"""``python -m core``: the CLI over the same functions the pages call."""

from core.cli import main

raise SystemExit(main())
