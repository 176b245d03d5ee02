"""``python -m mmsrelay_cli``: the same as the ``mmsrelay`` command."""

import sys

from mmsrelay_cli.main import main

sys.exit(main())
