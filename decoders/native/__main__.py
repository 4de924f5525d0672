"""`python -m decoders.native [--force] [--jobs N]`: build decoders/_fastbeam*.so unless it is up to date."""

import sys

from decoders.native.build import main

sys.exit(main())
