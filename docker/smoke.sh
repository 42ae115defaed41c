#!/usr/bin/env bash
# Smoke test of the compose stack: builds the images, brings up PostgreSQL, the PKI, two cores,
# the edges behind HAProxy, the SM-DP+ simulator and a simulated fleet, waits until the admin API
# reports every terminal's profile confirmed, prints the job counts and tears everything down.
#
#   docker/smoke.sh                         # 200 terminals, 600 s allowed
#   LPA_SIM_TERMINALS=50 SMOKE_TIMEOUT=300 docker/smoke.sh
#   SMOKE_SKIP_BUILD=1 docker/smoke.sh      # images already built (e.g. from a host release build)
#   SMOKE_KEEP=1 docker/smoke.sh            # leave the stack running afterwards
#
# Needs a Docker daemon that has (or can pull) the base images, and Compose v2 (`docker compose`)
# or v1.29 (`docker-compose`). Host ports are chosen free, so it runs beside anything else.
# Exit codes: 0 every terminal provisioned, 1 not in time (logs printed), 2 set-up failed.
set -euo pipefail
cd "$(dirname "$0")/.."

terminals=${LPA_SIM_TERMINALS:-200}
timeout=${SMOKE_TIMEOUT:-600}
project=${SMOKE_PROJECT:-lpasmoke$$}
token=compose-only-admin-token-change-me

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "smoke: neither 'docker compose' nor 'docker-compose' is available" >&2
    exit 2
fi
compose+=(-p "$project" -f docker/compose.yaml --profile sim)

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "smoke: no free port found" >&2
    exit 2
}
export LPA_TERMINAL_PORT=$(free_port) LPA_CORE1_ADMIN_PORT=$(free_port) LPA_CORE2_ADMIN_PORT=$(free_port)
export LPA_HAPROXY_STATS_PORT=$(free_port) LPA_SIM_TERMINALS=$terminals
export LPA_SIM_DEVICES=${LPA_SIM_DEVICES:-$terminals}
# Containers cannot be given more open files than the daemon's hard limit: take this shell's unless set.
export LPA_NOFILE=${LPA_NOFILE:-$(ulimit -Hn)}

teardown() {
    if [[ -z "${SMOKE_KEEP:-}" ]]; then
        "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    else
        echo "smoke: stack left running as project $project (admin API on 127.0.0.1:$LPA_CORE1_ADMIN_PORT)"
    fi
}
trap teardown EXIT

if [[ -z "${SMOKE_SKIP_BUILD:-}" ]]; then
    echo "smoke: building images"
    "${compose[@]}" build
fi
echo "smoke: starting project $project: $terminals terminals through HAProxy on port $LPA_TERMINAL_PORT"
"${compose[@]}" up -d

# core-1's admin API (HTTPS, inside its container): GET /v1/jobs/counts → {"counts":{"confirmed":N,…}}.
counts() {
    "${compose[@]}" exec -T -e LPA_ADMIN_TOKEN="$token" core-1 lpa-core admin jobs counts --json \
        --url https://127.0.0.1:8080 --ca /var/lib/serverlpa/pki/fleet/fleet-ca.pem 2>/dev/null
}
count_of() { grep -oE "\"$1\":[0-9]+" <<<"$2" | grep -oE "[0-9]+$" || echo 0; }

start=$(date +%s)
confirmed=0
while :; do
    body=$(counts || true)
    confirmed=$(count_of confirmed "$body")
    failed=$(count_of failed "$body")
    elapsed=$(($(date +%s) - start))
    echo "smoke: ${elapsed}s confirmed $confirmed/$terminals, failed $failed"
    if ((confirmed >= terminals)); then
        break
    fi
    if ((elapsed > timeout)); then
        echo "smoke: not every terminal was provisioned within ${timeout}s" >&2
        "${compose[@]}" ps >&2 || true
        "${compose[@]}" logs --tail 40 core-1 core-2 edge fleet >&2 || true
        exit 1
    fi
    sleep 5
done
echo "smoke: job counts: $body"
echo "smoke: all $terminals terminals provisioned in $(($(date +%s) - start)) s"
