"""``python -m core``: the CLI over the same functions the pages call."""

from core.cli.main import main

raise SystemExit(main())
