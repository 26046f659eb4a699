"""`python -m qwenlab.cli ...`: the `qwenlab` command."""

from . import main

if __name__ == "__main__":
    main()
