"""Benchmarks (not tests): each module has a ``run(rows, ...) -> dict`` and a ``main()``."""
