"""`python -m kpi_localinfra up|down|status|env|fetch-kafka`."""

import sys

from kpi_localinfra.cli import main

sys.exit(main())
