"""Entry point: ``python -m app``."""

from app.server import main

raise SystemExit(main())
