import sys

from coroscope.cli.commands import main

sys.exit(main())
