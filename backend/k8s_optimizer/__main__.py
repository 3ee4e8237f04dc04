"""`python -m k8s_optimizer` is the same as the `k8s-optimizer` console script."""

from k8s_optimizer.cli import main

raise SystemExit(main())
