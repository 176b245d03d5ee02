"""Cold-start benchmarks: a fresh interpreter per sample, timed from spawn to exit."""
