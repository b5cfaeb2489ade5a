import sys

from gatehouse_client.cli import main

sys.exit(main())
