"""Load harness: the API under gunicorn, a mixed workload at several concurrencies, and no write lost.

``python -m bench.load`` (or ``python -m bench load``) runs two targets, each in its own process:

- ``steady``: the scale data set (``gateway_bench`` on the project's embedded server, built by
  ``python -m bench dataset``) served by gunicorn (gthread, the connection pool) on 127.0.0.1 and driven
  from a separate process (``bench.load.client``) at 1, 4 and 16 client threads for a fixed time each,
  with reads, searches, writes and ingests. Reports throughput, p50/p99 latency and errors.
- ``restart``: the same workload while the database is stopped and started again in the middle. It uses
  an embedded server of its own (``.data/postgres-load``, database ``gateway_load``, seeded with
  ``seed --scale 50`` the first time): stopping the project's shared server would break every other
  process using it (test runs included). Reports how long requests failed and how.

After each target the database is reconciled with the client's write log: every write acknowledged with
a 2xx must be stored, and no refused write may be (ingested conversions and created campaigns by their
unique ids and names, metric increments by their exact sums, status changes by each asset's last
acknowledged status); writes that got no HTTP answer at all are counted apart. Then the rows the run
added are removed. Results go to ``bench/results/load.json``; docs/RELIABILITY.md ("Load") has figures.
"""
