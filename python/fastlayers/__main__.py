"""``python -m fastlayers``: the command line (see fastlayers.cli)."""

from .cli import main

raise SystemExit(main())
