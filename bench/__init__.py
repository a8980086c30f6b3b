"""Benchmarks: one script per benchmark, each printing JSON lines (see docs/benchmarks.md)."""
