#!/usr/bin/env bash
# CPU per request of `gatehouse --workers 1` against `--workers 2`, the whole process tree
# (primary and workers) counted: small GETs, 64 keep-alive connections, wrk on CPU 1, the
# gateway's processes on CPU 0 (both workers on one core: this measures what workers cost,
# not what they scale; see bench/RESULTS.md for a larger machine), the bench-peers nginx
# backends. Rounds interleaved, as bench/variants.sh does.
#   bash bench/workers/cpu.sh [ROUNDS] [SECONDS]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$(cd "$here/../../shared/bench-peers" 2>/dev/null && pwd) || peers=$(cd "$here/../shared/bench-peers" && pwd)
rounds=${1:-3} dur=${2:-5}
w=$(mktemp -d); chmod 755 "$w"; mkdir -p "$w/www"; cp "$peers/small.txt" "$peers/big.bin" "$w/www/"
for f in backend-body.conf backends.conf; do sed "s|@W@|$w|g" "$peers/$f" > "$w/${f##*/}"; done
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -f "$w/backends.pid" ] && kill "$(cat "$w/backends.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
taskset -c 1 nginx -c "$w/backends.conf" -p "$w" -g 'daemon on;' || { echo "backends failed" >&2; exit 1; }
sleep 0.5
hz=$(getconf CLK_TCK)
# utime + stime of a process and of its children (the workers, while they run).
own_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
tree_ticks() { local t=0; for p in $1 $(pgrep -P "$1"); do t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo $t; }
echo "round,workers,rps,cpu_us_per_req,primary_us_per_req,rss_kb_sum"
for r in $(seq "$rounds"); do
  for n in 1 2; do
    (cd "$here/.." && exec taskset -c 0 node dist/bin/gatehouse.js --port 18000 --log-level warn --workers "$n" bench/variants/plain.json) > "$w/sut.log" 2>&1 &
    pid=$!
    up=0; for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18000/ && { up=1; break; }; sleep 0.1; done
    [ $up = 0 ] && { echo "workers=$n did not start: $(tail -3 "$w/sut.log")" >&2; exit 1; }
    # With 1 worker node-flags re-execs in place (same pid); with 2 the workers are its children.
    sleep 0.5
    taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:18000/ > /dev/null 2>&1
    t0=$(tree_ticks "$pid"); p0=$(own_ticks "$pid")
    taskset -c 1 wrk -t1 -c64 -d"${dur}s" http://127.0.0.1:18000/ > "$w/wrk.out" 2>&1
    t1=$(tree_ticks "$pid"); p1=$(own_ticks "$pid")
    rss=0; for p in $pid $(pgrep -P "$pid"); do rss=$((rss + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done
    reqs=$(awk '/requests in/ {print $1}' "$w/wrk.out"); rps=$(awk '/Requests\/sec/ {print $2}' "$w/wrk.out")
    grep -E "Non-2xx|Socket errors" "$w/wrk.out" >&2
    echo "$r,$n,$rps,$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }'),$(awk -v a="$p0" -v b="$p1" -v n="$reqs" -v hz="$hz" -v w="$n" 'BEGIN { if (w > 1) printf "%.1f", (b - a) * 1e6 / hz / n; else print "-" }'),$rss"
    kill "$pid"; wait "$pid" 2>/dev/null; pid=
    sleep 0.5
  done
done
