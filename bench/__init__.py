"""`make bench`: the scale benchmarks of the optimizer against the embedded cluster (see bench/README.md)."""
