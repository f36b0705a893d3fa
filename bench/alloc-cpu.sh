#!/usr/bin/env bash
# CPU time and V8 heap bytes allocated per request, builds interleaved round by round, for a
# machine too loaded for throughput figures: the bench-peers backends and wrk on CPU 1, the
# gateway on CPU 0, and the gateway's own process.cpuUsage and GC-corrected heap growth over
# a window of wrk (bench/alloc-window.js), divided by the requests wrk completed.
#   [RATE=REQ_PER_S] bash bench/alloc-cpu.sh [-r ROUNDS] [-d SECONDS] [-s "small big post"] NAME=DIR[:CONFIG] ...
# RATE: a fixed offered load by autocannon (-R) instead of wrk's as-fast-as-it-goes, well under what the
# gateway can take, so every build does the same work per event-loop turn (the figure to compare on a shared machine).
# DIR: a checkout with dist/ built and node_modules; CONFIG as in bench/variants.sh (default plain.json).
# Prints round,name,scenario,requests,cpu_us_per_req,user_us,sys_us,alloc_bytes_per_req,scavenges_per_10k,marks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
peers=$(cd "$here/../../shared/bench-peers" 2>/dev/null && pwd) || peers=$(cd "$here/../shared/bench-peers" && pwd)
rounds=3 dur=4 scen="small"
while getopts "r:d:s:" o; do case $o in r) rounds=$OPTARG;; d) dur=$OPTARG;; s) scen=$OPTARG;; esac; done
shift $((OPTIND-1))
w=$(mktemp -d); chmod 755 "$w"; mkdir -p "$w/www"; cp "$peers/small.txt" "$peers/big.bin" "$w/www/"
for f in backend-body.conf backends.conf; do sed "s|@W@|$w|g" "$peers/$f" > "$w/$f"; done
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -f "$w/backends.pid" ] && kill "$(cat "$w/backends.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
taskset -c 1 nginx -c "$w/backends.conf" -p "$w" -g 'daemon on;' || { echo "backends failed" >&2; exit 1; }
sleep 0.5
echo "round,name,scenario,requests,cpu_us_per_req,user_us_per_req,sys_us_per_req,alloc_bytes_per_req,scavenges_per_10k,marks"
for r in $(seq "$rounds"); do
  for v in "$@"; do
    name=${v%%=*} spec=${v#*=}; dir=${spec%%:*} cfg=plain.json
    case $spec in *:*) cfg=${spec#*:};; esac
    [ -f "$cfg" ] || cfg=$here/variants/$cfg
    dir=$(cd "$dir" && pwd); cfg=$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")
    (cd "$dir" && GATEHOUSE_CONFIG="$cfg" exec taskset -c 0 node ${ALLOC_NODE_FLAGS:-} -r "$here/alloc-window.js" node_modules/.bin/fastify start -l warn -a 127.0.0.1 -p 18000 dist/app.js) > "$w/sut.log" 2> "$w/sut.err" &
    pid=$!
    up=0; for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18000/ && { up=1; break; }; sleep 0.1; done
    if [ $up = 0 ]; then echo "$name did not start: $(tail -3 "$w/sut.err")" >&2; kill "$pid"; wait "$pid" 2>/dev/null; pid=; continue; fi
    for sc in $scen; do
      args=(-t1) url=http://127.0.0.1:18000
      case $sc in small) args+=(-c64); url+=/;; big) args+=(-c16); url+=/big;; post) args+=(-c64 -s "$peers/post.lua");; esac
      taskset -c 1 wrk "${args[@]}" -d2s "$url" > /dev/null 2>&1
      : > "$w/sut.err"
      kill -WINCH "$pid"; sleep 0.1
      if [ -n "${RATE:-}" ]; then
        # A fixed offered load (autocannon -R), the same for every build: CPU per request is then
        # not inflated by a build getting fewer requests per event-loop turn on a loaded machine.
        ac=(-c "${args[1]#-c}" -R "$RATE" -d "$dur" -j)
        [ "$sc" = post ] && { ac+=(-m POST -H content-type=application/octet-stream -b "$(head -c 16384 /dev/zero | tr '\0' x)"); url=http://127.0.0.1:18000/post; }
        taskset -c 1 node "$dir/node_modules/.bin/autocannon" "${ac[@]}" "$url" > "$w/ac.json" 2> /dev/null
        kill -WINCH "$pid"
        reqs=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.requests.total)' "$w/ac.json")
      else
        taskset -c 1 wrk "${args[@]}" -d"${dur}s" "$url" > "$w/wrk.out" 2>&1
        kill -WINCH "$pid"
        reqs=$(awk '/requests in/ {print $1}' "$w/wrk.out")
      fi
      for _ in $(seq 50); do grep -aq '"window"' "$w/sut.err" && break; sleep 0.1; done
      tr -d '\000' < "$w/sut.err" | grep '"window"' | tail -1 | node -e '
        const [r, name, sc, n] = process.argv.slice(1); const w = JSON.parse(require("fs").readFileSync(0, "utf8")); const k = Number(n)
        console.log([r, name, sc, k, ((w.userUs + w.sysUs) / k).toFixed(1), (w.userUs / k).toFixed(1), (w.sysUs / k).toFixed(1), Math.round(w.allocated / k), (w.scavenges * 1e4 / k).toFixed(1), w.marks].join(","))' "$r" "$name" "$sc" "$reqs"
    done
    kill "$pid"; wait "$pid" 2>/dev/null; pid=
    sleep 0.3
  done
done
