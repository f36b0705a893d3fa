#!/usr/bin/env bash
# `npm run bench:peers`: Gatehouse side by side with nginx, HAProxy, the Node proxies and a bare
# Node relay, through the shared harness (../shared/bench-peers/run.sh): proxy on CPU 0, wrk and
# the nginx backends on CPU 1, interleaved rounds, CPU µs per request. Never part of the tests.
# Extra arguments go to the harness (default: -r 3 -d 5 and every peer).
set -euo pipefail
cd "$(dirname "$0")/.."
harness=../shared/bench-peers/run.sh
[ -f "$harness" ] || { echo "no $harness beside this checkout" >&2; exit 1; }
missing=()
for t in nginx haproxy wrk; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light haproxy wrk
fi
npm run build >/dev/null
if [ "$#" -eq 0 ]; then set -- -r 3 -d 5 nginx haproxy fastify-http-proxy node-http-proxy node-floor gatehouse; fi
exec bash "$harness" "$@"
