#!/usr/bin/env bash
# A CPU profile of Gatehouse on the bench-peers setup, to see where its CPU goes: the harness's three nginx
# backends on CPU 1, Gatehouse under `node --cpu-prof` on CPU 0, wrk on CPU 1, one scenario.
#   bash bench/profile-peers.sh [small|big|post] [seconds] [config.json]
# Prints the profile directory and the number of requests wrk completed; summarise with
#   npx tsx bench/profile-summary.ts <dir> 30 <requests>
# The profile covers start-up and the 2 s warm-up too (the warm-up runs the same scenario, so a 1 MiB
# profile is not mixed with small GETs). PEER=fastify-http-proxy (a ../shared/bench-peers/sut/*.js name)
# profiles that peer on the same setup instead of Gatehouse, to compare the two function by function.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-small} dur=${2:-15} config=${3:-../shared/bench-peers/sut/gatehouse.json}
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
peers=$(cd ../shared/bench-peers && pwd)
w=$(mktemp -d); chmod 755 "$w"; mkdir -p "$w/www" "$w/prof"; cp "$peers/small.txt" "$peers/big.bin" "$w/www/"
for f in backend-body.conf backends.conf; do sed "s|@W@|$w|g" "$peers/$f" > "$w/$f"; done
taskset -c 1 nginx -c "$w/backends.conf" -p "$w" -g 'daemon on;'
gw=
cleanup() { [ -n "$gw" ] && kill "$gw" 2>/dev/null; kill "$(cat "$w/backends.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
if [ -n "${PEER:-}" ]; then
  (cd "$peers" && exec taskset -c 0 node --cpu-prof --cpu-prof-dir="$w/prof" -r "$OLDPWD/bench/exit-on-term.js" "sut/$PEER.js") > "$w/gw.log" 2>&1 &
else
  GATEHOUSE_CONFIG=$config taskset -c 0 node --cpu-prof --cpu-prof-dir="$w/prof" ${GATEHOUSE_NODE_FLAGS:-} node_modules/.bin/fastify start -l warn -a 127.0.0.1 -p 18000 dist/app.js > "$w/gw.log" 2>&1 &
fi
gw=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18000/ && break; sleep 0.1; done
case $scenario in
  small) args=(-c64 http://127.0.0.1:18000/) ;;
  big) args=(-c16 http://127.0.0.1:18000/big) ;;
  post) args=(-c64 -s "$peers/post.lua" http://127.0.0.1:18000) ;;
esac
taskset -c 1 wrk -t1 -d2s "${args[@]}" > /dev/null
taskset -c 1 wrk -t1 -d"${dur}s" --latency "${args[@]}" > "$w/wrk.out"
reqs=$(awk '/requests in/ {print $1}' "$w/wrk.out")
kill -TERM "$gw"; wait "$gw" || true; gw=
dest=/tmp/${PEER:-gatehouse}-prof-$scenario-$$
cp -r "$w/prof" "$dest"
echo "profile: $dest requests: $reqs"
grep -E "Requests/sec|99%" "$w/wrk.out"
