"""``python -m app`` starts Fireplay."""

from app.main import main

raise SystemExit(main())
