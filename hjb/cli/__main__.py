"""`python -m hjb.cli`."""
import sys

from hjb.cli.main import main

sys.exit(main())
