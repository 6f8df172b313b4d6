#!/usr/bin/env bash
# Benchmark GET and PATCH /api-users/{id}/ as production runs it: gunicorn (2 sync workers,
# DEBUG off) on PostgreSQL, with the load from a second process on loopback.
#   bench/run.sh                      # 15 s per scenario, 8 client threads
#   SECONDS_PER_RUN=30 CONCURRENCY=16 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8001}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
CONCURRENCY=${CONCURRENCY:-8}
WORKERS=${WORKERS:-2}
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench}
export DJANGO_SECRET_KEY=bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false DJANGO_LOG_LEVEL=WARNING
PY=.venv/bin/python

echo "== Preparing database $DATABASE_URL =="
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'bench'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres bench
$PY manage.py migrate --no-input -v0
$PY manage.py collectstatic --no-input -v0
admin=$($PY manage.py create_api_user bench-admin --account Bench --json)
target=$($PY manage.py create_api_user bench-target --account Bench --role Developer --json)
key=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['key'])" "$admin")
target_id=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$target")

echo "== Starting gunicorn ($WORKERS workers) on 127.0.0.1:$PORT =="
.venv/bin/gunicorn probely.wsgi -w "$WORKERS" -b "127.0.0.1:$PORT" --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.2
done

for method in GET PATCH; do
  echo "== $method for ${SECONDS_PER_RUN}s, $CONCURRENCY client threads =="
  $PY bench/load.py --url "http://127.0.0.1:$PORT/api-users/$target_id/" --key "$key" \
    --method "$method" --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN"
done
