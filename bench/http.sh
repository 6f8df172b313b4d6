#!/usr/bin/env bash
# Throughput and latency over HTTP of this checkout, and before/after in one run when given an
# earlier commit: each tree served as production serves it (gunicorn with its own
# gunicorn.conf.py, 2 workers, DEBUG off, PostgreSQL), the per-key rate limit off, loaded by wrk
# (1 thread, 8 connections) from the same machine. Rounds alternate between the servers so that
# drift in the machine's load hits them alike: compare ratios, not absolute figures.
#
#   bench/http.sh                          # this checkout only
#   bench/http.sh 4f515f7                  # and the commit to compare with
#   SECONDS_PER_RUN=15 ROUNDS=5 bench/http.sh v0.2.0
#
# Scenarios: GET and PATCH /api-users/{id}/ (the PATCH renames and sends the same 3 labels),
# and GET /api-users/?length=100 over 100 API users with 3 labels and 2 roles each, seeded
# through the API itself. Each line gives requests per second, p50 and p95 latency (ms),
# non-2xx answers and the gunicorn workers' CPU time per request (ms); the summary gives the
# median of each across rounds and, with a baseline, current/baseline ratios (throughput:
# higher is better; latency and CPU: baseline over current, so higher is better too).
# Needs wrk (`apt-get install wrk`) and psql; runs both trees with this checkout's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE=${1:-}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
ROUNDS=${ROUNDS:-3}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PY=$PWD/.venv/bin/python
HERE=$PWD
WORK=$(mktemp -d)
export DJANGO_SECRET_KEY=bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false DJANGO_DEBUG=false
export THROTTLE_API_KEY= DJANGO_LOG_LEVEL=WARNING

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  git worktree remove --force "$WORK/baseline" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

names=(current)
trees=("$HERE")
ports=(18702)
if [ -n "$BASELINE" ]; then
  echo "== Baseline $BASELINE in a temporary worktree =="
  git worktree add --detach "$WORK/baseline" "$BASELINE" >/dev/null
  names=(baseline current)
  trees=("$WORK/baseline" "$HERE")
  ports=(18701 18702)
fi
declare -A key target results master

# Prepare one tree: a fresh database, an Admin key, the PATCH/GET target and 100 listed users.
prepare() {
  local name=$1 tree=$2 port=$3 db=bench_http_$1
  echo "== $name: database $db, gunicorn on 127.0.0.1:$port =="
  PGOPTIONS="-c client_min_messages=warning" psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" \
    -c "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL=$PG/$db
  (cd "$tree" && $PY manage.py migrate --no-input -v0 && $PY manage.py collectstatic --no-input -v0)
  local made
  made=$(cd "$tree" && $PY manage.py create_api_user bench-admin --account Bench --json | tail -1)
  key[$name]=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['key'])" "$made")
  (cd "$tree" && exec "$HERE/.venv/bin/gunicorn" probely.wsgi -w 2 -b "127.0.0.1:$port" \
    >"$WORK/$name.log" 2>&1) &
  pids+=($!)
  master[$name]=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
  # Through the API, so that every tree is seeded alike: the users with labels and two roles
  # (Developer and Billing, built-in ids).
  local body
  for i in $(seq 0 100); do
    body=$($PY -c "import json,sys; i=int(sys.argv[1]); print(json.dumps({'name': f'listed-{i}',
      'labels': [{'name': f'l{i % 7}-{j}', 'color': '#00FF00'} for j in range(3)],
      'user_roles': [{'role': {'id': r}, 'scope': {'tier': 'account'}}
                     for r in ('mvHmA52RyzCE', 'mUsmGptS2NDy')]}))" "$i")
    made=$(curl -sf -X POST -H "Authorization: JWT ${key[$name]}" \
      -H "Content-Type: application/json" -d "$body" "http://127.0.0.1:$port/api-users/")
  done
  # The last one is the target of GET and PATCH, with the PATCH's labels made beforehand.
  target[$name]=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$made")
  curl -sf -o /dev/null -X PATCH -H "Authorization: JWT ${key[$name]}" \
    -H "Content-Type: application/json" -d '{"labels": [{"name": "bench-1", "color": "#00FF01"},
    {"name": "bench-2", "color": "#00FF02"}, {"name": "bench-3", "color": "#00FF03"}]}' \
    "http://127.0.0.1:$port/api-users/${target[$name]}/"
}
for i in "${!names[@]}"; do prepare "${names[$i]}" "${trees[$i]}" "${ports[$i]}"; done

# CPU time of a tree's gunicorn workers so far, in clock ticks (user + system, /proc).
ticks() {
  local total=0 pid
  for pid in $(pgrep -P "${master[$1]}"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
run() { # script name port path -> "rps p50 p95 non-2xx cpu-ms-per-request"
  local before out
  before=$(ticks "$2")
  out=$(KEY=${key[$2]} wrk -t1 -c8 -d"${SECONDS_PER_RUN}s" -s "bench/wrk/$1" \
    "http://127.0.0.1:$3$4" | awk '/^RESULT/ {print $2, $3, $4, $5}')
  # The workers' CPU per request: steadier than requests a second on a machine whose speed
  # drifts, and what the code changes.
  awk -v out="$out" -v ticks=$(($(ticks "$2") - before)) -v hz="$(getconf CLK_TCK)" \
    -v seconds="$SECONDS_PER_RUN" \
    'BEGIN {split(out, f, " "); printf "%s %.2f\n", out, ticks * 1000 / hz / (f[1] * seconds)}'
}
for scenario in "GET one" "PATCH one" "GET list"; do
  for round in $(seq 1 "$ROUNDS"); do
    line="$scenario, round $round:"
    for i in "${!names[@]}"; do
      name=${names[$i]}
      case $scenario in
        "GET one") out=$(run get.lua "$name" "${ports[$i]}" "/api-users/${target[$name]}/") ;;
        "PATCH one") out=$(run patch.lua "$name" "${ports[$i]}" "/api-users/${target[$name]}/") ;;
        "GET list") out=$(run get.lua "$name" "${ports[$i]}" "/api-users/?length=100") ;;
      esac
      results["$scenario/$name"]+="$out;"
      read -r rps p50 p95 bad cpu <<<"$out"
      line="$line  $name $rps rps, p50 $p50 ms, p95 $p95 ms, non-2xx $bad, CPU $cpu ms;"
    done
    echo "$line"
  done
done

echo "== Medians over $ROUNDS rounds: rps, p50 ms, p95 ms, non-2xx, workers' CPU ms a request (and current/baseline) =="
for scenario in "GET one" "PATCH one" "GET list"; do
  $PY - "$scenario" "${results["$scenario/current"]}" "${results["$scenario/baseline"]:-}" <<'EOF'
import statistics
import sys

scenario, current, baseline = sys.argv[1:]


def medians(runs):
    rows = [[float(value) for value in run.split()] for run in runs.split(";") if run]
    return [statistics.median(column) for column in zip(*rows, strict=True)]


def shown(name, rps, p50, p95, bad, cpu):
    return f"{name} {rps:7.1f} rps {p50:6.2f} {p95:6.2f} {bad:.0f} {cpu:5.2f} ms CPU"


now = medians(current)
line = f"{scenario:9}  {shown('current', *now)}"
if baseline:
    before = medians(baseline)
    line += (
        f"  |  {shown('baseline', *before)}  |  x{now[0] / before[0]:.2f} rps, "
        f"x{before[1] / now[1]:.2f} p50, x{before[2] / now[2]:.2f} p95, "
        f"x{before[4] / now[4]:.2f} CPU"
    )
print(line)
EOF
done
