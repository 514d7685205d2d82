"""``python -m host_gateway`` is ``ssn-gateway``."""

from host_gateway.cli import main

raise SystemExit(main())
