#!/usr/bin/env bash
# Benchmark GET and PATCH /api-users/{id}/ as production runs it: gunicorn (gunicorn.conf.py,
# 2 workers, DEBUG off) on PostgreSQL, with the load from a second process on loopback.
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
# One key makes every request: its rate limit would cap the throughput being measured.
export THROTTLE_API_KEY=
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

echo "== Starting gunicorn ($WORKERS threaded workers) on 127.0.0.1:$PORT =="
.venv/bin/gunicorn probely.wsgi -w "$WORKERS" -b "127.0.0.1:$PORT" --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.2
done

echo "== Adding 100 API users with 3 labels and a role each, for the list =="
$PY manage.py shell --no-imports -c "
from apiusers.models import Account, Role
from apiusers.services.api_users import api_user_create
account = Account.objects.get(name='Bench')
admin = account.users.filter(name='bench-admin').first()
role = Role.objects.get(name='Developer')
if not account.users.filter(name__startswith='listed-').exists():
    for i in range(100):
        api_user_create(account=account, actor=admin, name=f'listed-{i}',
            labels=[{'name': f'l{i % 7}-{j}', 'color': '#00FF00'} for j in range(3)],
            user_roles=[{'role': role, 'tier': 'account', 'team': None, 'target': None}])
"

run() {
  echo "== $1 $2 for ${SECONDS_PER_RUN}s, $CONCURRENCY client threads =="
  $PY bench/load.py --url "http://127.0.0.1:$PORT$2" --key "$key" --method "$1" \
    --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN"
}
run GET "/api-users/$target_id/"
run PATCH "/api-users/$target_id/"
run GET "/api-users/?length=100"
