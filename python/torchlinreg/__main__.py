"""``python -m torchlinreg``: the same as the ``torchlinreg`` command."""
import sys

from .cli import main

sys.exit(main())
