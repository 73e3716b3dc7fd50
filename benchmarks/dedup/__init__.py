"""Near-dup / exact / vote / contamination benchmarks of tsqa's native core against peers."""
