"""Helpers the benchmark scripts share (a package, so `make bench`, which runs bench/*.py, skips it)."""
