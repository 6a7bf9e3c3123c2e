from __future__ import annotations

from convergio_gate.cli import main

raise SystemExit(main())
