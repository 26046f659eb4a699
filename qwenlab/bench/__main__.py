"""`python -m qwenlab.bench.sweep`: the sweep benchmark (see `qwenlab.bench.sweep.sweep`)."""

from .sweep import main

raise SystemExit(main())
