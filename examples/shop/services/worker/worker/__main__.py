"""Entry point: ``python -m worker``."""

from worker.main import main

raise SystemExit(main())
