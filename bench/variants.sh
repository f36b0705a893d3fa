#!/usr/bin/env bash
# Gatehouse against itself, to tell a change's cost from the machine's noise: several builds and/or configs, interleaved round by round
# on the bench-peers setup (../shared/bench-peers: its three nginx backends and wrk on CPU 1,
# the gateway on CPU 0, keep-alive), CPU µs per request of the gateway process as the harness
# computes it. The harness sets GATEHOUSE_CONFIG itself, so comparing configs (the cost of a
# feature when it is on) or commits needs this; the figures are comparable with its own.
#   bash bench/variants.sh [-r ROUNDS] [-d SECONDS] [-s "small big post"] NAME=DIR:CONFIG ...
# DIR is a checkout with dist/ built and node_modules; CONFIG a JSON config (relative to bench/variants/ if not found).
# NAME=DIR:CONFIG:LEVEL starts it with that log level (default warn, as the harness; info writes
# the access lines, to a file); LEVEL+o (e.g. warn+o) also passes fastify-cli's -o, so that the app's server
# options (lib/http/server-options.ts: the client write buffer) apply as under the gatehouse command. NAME=node:FILE runs a plain Node server on port 18000 instead (bench/ladder/*.js, ../shared's sut/node-floor.js).
# Besides the harness's columns, each row has the gateway's read and write system calls per
# request, bytes per read call, and its involuntary context switches per request (/proc/PID/io, status).
# Example: bash bench/variants.sh -r 3 -d 5 plain=.:plain.json ratelimit=.:rate-limit.json
set -u
here=$(cd "$(dirname "$0")" && pwd)
peers=$(cd "$here/../../shared/bench-peers" 2>/dev/null && pwd) || peers=$(cd "$here/../shared/bench-peers" && pwd)
rounds=3 dur=5 scen="small big post"
while getopts "r:d:s:" o; do case $o in r) rounds=$OPTARG;; d) dur=$OPTARG;; s) scen=$OPTARG;; esac; done
shift $((OPTIND-1))
(($#)) || { echo "usage: variants.sh [-r N] [-d S] [-s scenarios] NAME=DIR:CONFIG ..." >&2; exit 2; }
w=$(mktemp -d); chmod 755 "$w"; mkdir -p "$w/www"; cp "$peers/small.txt" "$peers/big.bin" "$w/www/"
for f in backend-body.conf backends.conf sut/nginx.conf; do sed "s|@W@|$w|g" "$peers/$f" > "$w/${f##*/}"; done
out=${BENCH_PEERS_OUT:-$(mktemp -d)}; mkdir -p "$out"; csv=$out/variants-$(date +%Y%m%d-%H%M%S).csv
echo "round,sut,scenario,rps,p50_ms,p99_ms,rss_kb,cpu_us_per_req,reads_per_req,writes_per_req,bytes_per_read,invol_csw_per_req,user_us_per_req,sys_us_per_req" > "$csv"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -f "$w/backends.pid" ] && kill "$(cat "$w/backends.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
taskset -c 1 nginx -c "$w/backends.conf" -p "$w" -g 'daemon on;' || { echo "backends failed" >&2; exit 1; }
sleep 0.5
to_ms() { local v=$1; case $v in *us) awk "BEGIN{print ${v%us}/1000}";; *ms) echo "${v%ms}";; *s) awk "BEGIN{print ${v%s}*1000}";; *) echo NA;; esac; }
# User + system ticks of the process itself (no children: a Node gateway has none). Read from
# /proc/PID/stat after the comm field, so a process name with spaces cannot shift the fields.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# user and system ticks apart: the kernel's share (socket copies, loopback TCP) of a request's CPU
ustime() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
hz=$(getconf CLK_TCK)
# syscr syscw rchar nonvoluntary_ctxt_switches
io() { awk '/^syscr/ {r=$2} /^syscw/ {w=$2} /^rchar/ {c=$2} END {printf "%s %s %s ", r, w, c}' "/proc/$1/io"; awk '/nonvoluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; }
for r in $(seq "$rounds"); do
  for v in "$@"; do
    name=${v%%=*} spec=${v#*=}; dir=${spec%%:*} cfg=${spec#*:}; level=warn
    case $cfg in *:*) level=${cfg#*:}; cfg=${cfg%%:*};; esac
    o=; case $level in *+o) o=-o; level=${level%+o};; esac
    if [ "$dir" = nginx ]; then
      taskset -c 0 nginx -c "$w/nginx.conf" -p "$w" -g 'daemon off;' > "$w/sut.log" 2>&1 &
    elif [ "$dir" = node ]; then
      [ -f "$cfg" ] || cfg=$peers/sut/$cfg
      (cd "$here/.." && exec taskset -c 0 node "$cfg") > "$w/sut.log" 2>&1 &
    else
      [ -f "$cfg" ] || cfg=$here/variants/$cfg
      dir=$(cd "$dir" && pwd); cfg=$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")
      (cd "$dir" && GATEHOUSE_CONFIG="$cfg" exec taskset -c 0 node node_modules/.bin/fastify start $o -l "$level" -a 127.0.0.1 -p 18000 dist/app.js) > "$w/sut.log" 2>&1 &
    fi
    pid=$!
    up=0; for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18000/ && { up=1; break; }; sleep 0.1; done
    if [ $up = 0 ]; then echo "$name did not start: $(tail -3 "$w/sut.log")" >&2; kill "$pid"; wait "$pid" 2>/dev/null; pid=; continue; fi
    # nginx: its one worker does the work (the master only waits); measured instead of the master.
    [ "$dir" = nginx ] && { main=$pid; pid=$(pgrep -P "$main" | head -1); }
    idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:18000/ > /dev/null 2>&1
    for sc in $scen; do
      args=(-t1 -d"${dur}s" --latency) url=http://127.0.0.1:18000
      case $sc in small) args+=(-c64); url+=/;; big) args+=(-c16); url+=/big;; post) args+=(-c64 -s "$peers/post.lua");; esac
      t0=$(ticks "$pid"); io0=$(io "$pid"); us0=$(ustime "$pid")
      taskset -c 1 wrk "${args[@]}" "$url" > "$w/wrk.out" 2>&1
      t1=$(ticks "$pid"); io1=$(io "$pid"); us1=$(ustime "$pid")
      errs=$(grep -E "Non-2xx|Socket errors" "$w/wrk.out" | tr '\n' ' '); [ -n "$errs" ] && echo "  note $name $sc: $errs" >&2
      rps=$(awk '/Requests\/sec/ {print $2}' "$w/wrk.out"); reqs=$(awk '/requests in/ {print $1}' "$w/wrk.out")
      p50=$(to_ms "$(awk '$1=="50%" {print $2}' "$w/wrk.out")"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$w/wrk.out")")
      rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
      cpu=$(awk -v a="$t0" -v b="$t1" -v n="${reqs:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print "NA" }')
      sys=$(echo "$io0 $io1" | awk -v n="${reqs:-0}" '{ if (n > 0 && $5 > $1) printf "%.2f,%.2f,%.0f,%.3f", ($5-$1)/n, ($6-$2)/n, ($7-$3)/($5-$1), ($8-$4)/n; else print "NA,NA,NA,NA" }')
      us=$(echo "$us0 $us1" | awk -v n="${reqs:-0}" -v hz="$hz" '{ if (n > 0) printf "%.1f,%.1f", ($3-$1)*1e6/hz/n, ($4-$2)*1e6/hz/n; else print "NA,NA" }')
      echo "$r,$name,$sc,$rps,$p50,$p99,$rss,$cpu,$sys,$us" | tee -a "$csv"
    done
    echo "$r,$name,idle-rss-kb,$idle" >> "$out/idle.txt"
    [ "$dir" = nginx ] && pid=$main
    kill "$pid"; wait "$pid" 2>/dev/null; pid=
    sleep 0.5
  done
done
node "$peers/summarize.js" "$csv"
echo "raw figures: $csv (idle RSS after start, before load: $out/idle.txt)" >&2
