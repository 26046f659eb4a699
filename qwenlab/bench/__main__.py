"""`python -m qwenlab.bench`: the sweep benchmark (`qwenlab.bench.sweep`); with `--scale`, the scale
benchmark of issue 13 (`qwenlab.bench.scale`: throughput, the 2,000-image experiment and its
views, typography, a 1,000,000-task log, memory). `--quick` for a short run of either."""

import sys

args = sys.argv[1:]
if "--scale" in args:
    from .scale import main

    args.remove("--scale")
else:
    from .sweep import main

raise SystemExit(main(args))
