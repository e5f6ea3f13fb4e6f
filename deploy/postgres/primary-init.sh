#!/bin/sh
# docker-compose: run once by the postgres image when it creates the primary's data folder (a fresh volume).
# The replica service takes its base backup over a replication connection, which the image's pg_hba.conf
# does not allow from other containers.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
