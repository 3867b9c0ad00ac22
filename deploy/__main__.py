"""`python -m deploy deploy|destroy --stage STAGE`: see docs/deploy.md."""

from deploy.cli import main

raise SystemExit(main())
