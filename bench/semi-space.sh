#!/usr/bin/env bash
# Peak RSS and CPU per request of one gatehouse process for several young-generation sizes:
# 64 keep-alive connections of small GETs for 10 s (autocannon) through the gatehouse command
# to a node:http backend, all on 127.0.0.1. Peak RSS is the kernel's VmHWM of the gateway's
# process; CPU is its utime+stime over the run. Needs `npm run build`; run under the Node to
# measure (PATH). Usage: bench/semi-space.sh [SEMI_SPACE_MIB|default|'--v8 --flags' ...]
# (default: V8's own sizes; a value starting with -- is given to node as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
BACK_PORT=${BACK_PORT:-19481}
GW_PORT=${GW_PORT:-19480}
DURATION=${DURATION:-10}
# Another build to compare (for example a checkout of the code before, under another node).
GW_BIN=${GW_BIN:-dist/bin/gatehouse.js}
tmp=$(mktemp -d)
cat > "$tmp/gw.json" <<JSON
{ "upstreams": { "b": { "servers": [ { "url": "http://127.0.0.1:$BACK_PORT" } ] } },
  "routes": [ { "match": { "path": "/*" }, "upstream": "b" } ] }
JSON
node -e "
const s = require('node:http').createServer((q, r) => { q.resume(); r.writeHead(200, { 'content-type': 'application/json', 'content-length': '96' }); r.end('x'.repeat(96)) })
s.keepAliveTimeout = 60000; s.listen($BACK_PORT, '127.0.0.1')" &
back=$!
trap 'kill $back 2>/dev/null || true; rm -rf "$tmp"' EXIT
tick=$(getconf CLK_TCK)
echo "node $(node -v)  64 connections, ${DURATION} s, small GET"
printf '%-40s %10s %12s %14s %8s\n' semi-space requests peak_RSS_MiB CPU_us_per_req p99_ms
if [ $# -eq 0 ]; then set -- default 4 8 16; fi
for v in "$@"; do
  case "$v" in
    default) opts="" ;;
    --*) opts="$v" ;;
    *) opts="--max-semi-space-size=$v" ;;
  esac
  GATEHOUSE_NODE_OPTIONS="$opts" node "$GW_BIN" --port "$GW_PORT" --log-level warn "$tmp/gw.json" &
  gw=$!
  for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$GW_PORT/" && break; sleep 0.1; done
  read -r u0 s0 < <(awk '{print $14, $15}' /proc/$gw/stat)
  npx autocannon -c 64 -d "$DURATION" -j "http://127.0.0.1:$GW_PORT/" > "$tmp/ac.json" 2>/dev/null
  read -r reqs p99 < <(node -e "const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); console.log(r.requests.total, r.latency.p99)" "$tmp/ac.json")
  read -r u1 s1 < <(awk '{print $14, $15}' /proc/$gw/stat)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$gw/status)
  kill $gw; wait $gw 2>/dev/null || true
  FLAGS="$v" node -e "const v=process.env.FLAGS, [r,h,c,t,p]=process.argv.slice(1); console.log(v.padEnd(40), r.padStart(10), (h/1024).toFixed(0).padStart(12), (c/t*1e6/r).toFixed(1).padStart(14), p.padStart(8))" \
    "$reqs" "$hwm" "$(( u1 - u0 + s1 - s0 ))" "$tick" "$p99"
done
