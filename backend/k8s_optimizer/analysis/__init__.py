"""Pure analysis: usage series and cluster snapshots in, statistics and derived views out."""
