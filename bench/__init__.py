"""Benchmarks (not tests): ``python -m bench <name>`` (see bench/__main__.py and docs/PERFORMANCE.md).

Each benchmark module has a ``run(...) -> dict`` whose sizes and repeat counts are parameters, so
bench/tests can run it on a tiny data set; bench/knowledge.py also has a ``main()`` of its own.
"""
