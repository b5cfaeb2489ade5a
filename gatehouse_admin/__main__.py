import sys

from gatehouse_admin.cli import main

sys.exit(main())
