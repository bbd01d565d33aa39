"""`python -m tui` runs the same entry point as the `evodash` console script."""

from tui.cli.main import main

raise SystemExit(main())
