#!/bin/sh
# Run once by the postgres image on a fresh data volume (deploy/compose.yaml mounts this folder
# at /docker-entrypoint-initdb.d): the Grafana login role, with its password from the
# environment. The evaluator's migration grants it the published views when it first starts.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$KPI_GRAFANA_DB_PASSWORD" -f /docker-entrypoint-initdb.d/grafana-role.psql
