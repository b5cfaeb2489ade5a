import sys

from gatehouse.admin.cli import main

sys.exit(main())
