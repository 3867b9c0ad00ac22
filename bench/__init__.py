"""Benchmarks behind `make bench` (SPEC section 9)."""
