#!/usr/bin/env bash
# `npm run bench:cache`: cache hits, side by side in one run: nginx's proxy_cache
# serving hits (its cache directory on tmpfs, so hits come from memory), Gatehouse with the
# cache on (every request a HIT after the first), and Gatehouse with no `cache` in its config
# (every request proxied: the miss path). Two bodies: ~100 B and 100 KiB, both sent by the
# backend with `Cache-Control: max-age=3600`. The proxies run on CPU 0, wrk and the backend on
# CPU 1; rounds interleave the proxies. Needs nginx-light and wrk (apt). Never part of the tests.
set -u
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3} dur=${DURATION:-4}
for t in nginx wrk; do command -v $t >/dev/null || { echo "needs $t: apt-get install -y nginx-light wrk" >&2; exit 1; }; done
[ -f dist/bin/gatehouse.js ] || npm run build >/dev/null
# tmpfs when there is one: nginx keeps cached bodies in files, and its hits should be served from memory.
base=/dev/shm; [ -d $base ] && [ -w $base ] || base=${TMPDIR:-/tmp}
w=$(mktemp -d -p "$base"); chmod 755 "$w"; mkdir -p "$w/www" "$w/nginx-cache"
printf 'hello from the backend, a small answer that any cache keeps for an hour........\n' > "$w/www/small"
head -c 102400 /dev/urandom > "$w/www/100k"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -f "$w/backend.pid" ] && kill "$(cat "$w/backend.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
cat > "$w/backend.conf" <<CONF
worker_processes 1; pid $w/backend.pid; error_log $w/backend-error.log; events { worker_connections 4096; }
http { access_log off; default_type application/octet-stream;
  server { listen 127.0.0.1:19201; root $w/www; location / { add_header Cache-Control "max-age=3600"; } } }
CONF
cat > "$w/front.conf" <<CONF
worker_processes 1; pid $w/front.pid; error_log $w/front-error.log; events { worker_connections 4096; }
http { access_log off;
  keepalive_requests 10000000;
  proxy_cache_path $w/nginx-cache keys_zone=hits:10m max_size=256m;
  upstream b { server 127.0.0.1:19201; keepalive 64; }
  server { listen 127.0.0.1:18200;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache hits; add_header X-Cache \$upstream_cache_status; } } }
CONF
route='"routes": [{ "match": { "path": "/*" }, "upstream": "b" }]'
up='"upstreams": { "b": { "servers": [{ "url": "http://127.0.0.1:19201" }] } }'
echo "{ \"cache\": { \"maxSize\": \"256MB\" }, $up, $route }" > "$w/cache-on.json"
echo "{ $up, $route }" > "$w/cache-off.json"
taskset -c 1 nginx -c "$w/backend.conf" -g 'daemon on;' || exit 1
# CPU ticks (user + system) of a process and its direct children: nginx works in its worker.
ticks() { awk -v p="$1" '$1==p || $4==p {t+=$14+$15+$16+$17} END {print t+0}' /proc/[0-9]*/stat 2>/dev/null; }
hz=$(getconf CLK_TCK)
# PROFILE=DIR: the Gatehouse processes write V8 CPU profiles there (bench/profile-summary.ts reads them).
prof=(); [ -n "${PROFILE:-}" ] && prof=(--cpu-prof --cpu-prof-dir "$PROFILE")
start() {
  case $1 in
    nginx-cache) taskset -c 0 nginx -c "$w/front.conf" -g 'daemon off;' > "$w/nginx.log" 2>&1 & echo $! ;;
    gatehouse-cache) taskset -c 0 node "${prof[@]}" dist/bin/gatehouse.js --port 18200 --host 127.0.0.1 --log-level warn "$w/cache-on.json" > "$w/gh.log" 2>&1 & echo $! ;;
    gatehouse-nocache) taskset -c 0 node "${prof[@]}" dist/bin/gatehouse.js --port 18200 --host 127.0.0.1 --log-level warn "$w/cache-off.json" > "$w/gh.log" 2>&1 & echo $! ;;
  esac
}
to_ms() { local v=$1; case $v in *us) awk "BEGIN{print ${v%us}/1000}";; *ms) echo "${v%ms}";; *s) awk "BEGIN{print ${v%s}*1000}";; *) echo NA;; esac; }
echo "round,sut,body,x_cache,req_per_s,p99_ms,cpu_us_per_req"
for r in $(seq "$rounds"); do
  for s in ${SUTS:-nginx-cache gatehouse-cache gatehouse-nocache}; do
    pid=$(start $s); pids+=("$pid")
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18200/small && break; sleep 0.1; done
    for body in small 100k; do
      url=http://127.0.0.1:18200/$body
      # Warm: fills the cache and the pools; the first answer is a MISS, later ones are HITs.
      taskset -c 1 wrk -t1 -c32 -d1s "$url" >/dev/null 2>&1
      status=$(curl -s -o /dev/null -D - "$url" | awk -F': ' 'tolower($1)=="x-cache" {gsub(/\r/,"",$2); print $2}')
      t0=$(ticks "$pid")
      out=$(taskset -c 1 wrk -t1 -c32 -d"${dur}s" --latency "$url" 2>&1)
      t1=$(ticks "$pid")
      n=$(awk '/requests in/ {print $1}' <<<"$out"); rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
      errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' '); [ -n "$errs" ] && echo "  note $s $body: $errs" >&2
      cpu=$(awk -v a="$t0" -v b="$t1" -v n="${n:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print "NA" }')
      echo "$r,$s,$body,${status:-none},$rate,$p99,$cpu"
    done
    kill "$pid"; wait "$pid" 2>/dev/null; sleep 0.5
  done
done
