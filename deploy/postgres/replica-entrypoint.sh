#!/bin/sh
# docker-compose's replica service: on an empty volume, a base backup of the primary with `pg_basebackup -R`
# (standby.signal and primary_conninfo), then a hot standby streaming from it. Its name, replica1, is what the
# primary's synchronous_standby_names refers to; it never waits for a replica of its own once promoted.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_basebackup -h db -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream -c fast; do
        echo "waiting for the primary to take a base backup..."
        rm -rf "${PGDATA:?}"/*
        sleep 2
    done
    chmod 700 "$PGDATA"
fi
exec postgres -c cluster_name=replica1 -c synchronous_standby_names= -c hot_standby=on
