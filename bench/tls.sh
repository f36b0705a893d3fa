#!/usr/bin/env bash
# `npm run bench:tls`: HTTPS at the front, Gatehouse against nginx terminating TLS, side by side
# in one run: keep-alive requests per second, new-connection handshakes per second
# (Connection: close), and HTTP/2 with many streams on one connection (bench/h2-load.js; the
# nginx here is nginx-light, built with http_v2). A certificate is made for the run with openssl
# and removed after; nothing is committed. The proxies run on CPU 0, wrk and the backend on CPU 1.
# Needs nginx-light and wrk (apt). Never part of the tests.
set -u
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2} dur=${DURATION:-4}
for t in nginx wrk openssl; do command -v $t >/dev/null || { echo "needs $t: apt-get install -y nginx-light wrk" >&2; exit 1; }; done
[ -f dist/bin/gatehouse.js ] || npm run build >/dev/null
w=$(mktemp -d); chmod 755 "$w"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -f "$w/backend.pid" ] && kill "$(cat "$w/backend.pid")" 2>/dev/null; sleep 0.3; rm -rf "$w"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$w/key.pem" -out "$w/cert.pem" 2>/dev/null
cat > "$w/backend.conf" <<CONF
worker_processes 1; pid $w/backend.pid; error_log $w/backend-error.log; events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:19101; location / { return 200 "hello from the backend\n"; } } }
CONF
cat > "$w/front.conf" <<CONF
worker_processes 1; pid $w/front.pid; error_log $w/front-error.log; events { worker_connections 4096; }
http { access_log off;
  # nginx ends a connection after 1000 requests by default (an h2 GOAWAY); Node does not: alike here.
  keepalive_requests 10000000;
  upstream b { server 127.0.0.1:19101; keepalive 64; }
  server { listen 127.0.0.1:18443 ssl http2; ssl_certificate $w/cert.pem; ssl_certificate_key $w/key.pem;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat > "$w/gatehouse.json" <<CONF
{ "listen": { "tls": { "cert": "$w/cert.pem", "key": "$w/key.pem" }, "http2": true },
  "upstreams": { "b": { "servers": [{ "url": "http://127.0.0.1:19101" }] } },
  "routes": [{ "match": { "path": "/*" }, "upstream": "b" }] }
CONF
taskset -c 1 nginx -c "$w/backend.conf" -g 'daemon on;' || exit 1
# CPU ticks (user + system) of a process and its direct children: nginx works in its worker.
ticks() { awk -v p="$1" '$1==p || $4==p {t+=$14+$15} END {print t+0}' /proc/[0-9]*/stat 2>/dev/null; }
hz=$(getconf CLK_TCK)
start() {
  case $1 in
    nginx) taskset -c 0 nginx -c "$w/front.conf" -g 'daemon off;' > "$w/nginx.log" 2>&1 & echo $! ;;
    gatehouse) taskset -c 0 node dist/bin/gatehouse.js --port 18443 --host 127.0.0.1 "$w/gatehouse.json" > "$w/gh.log" 2>&1 & echo $! ;;
  esac
}
echo "sut,round,scenario,per_s,cpu_us_per_req"
for r in $(seq "$rounds"); do
  for s in nginx gatehouse; do
    pid=$(start $s); pids+=("$pid")
    for _ in $(seq 100); do curl -sk -o /dev/null https://127.0.0.1:18443/ && break; sleep 0.1; done
    taskset -c 1 wrk -t1 -c32 -d1s https://127.0.0.1:18443/ >/dev/null 2>&1
    for sc in keepalive handshake h2; do
      t0=$(ticks "$pid")
      case $sc in
        keepalive) out=$(taskset -c 1 wrk -t1 -c32 -d"${dur}s" https://127.0.0.1:18443/ 2>&1); n=$(awk '/requests in/ {print $1}' <<<"$out"); rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out") ;;
        handshake) out=$(taskset -c 1 wrk -t1 -c16 -d"${dur}s" -H 'Connection: close' https://127.0.0.1:18443/ 2>&1); n=$(awk '/requests in/ {print $1}' <<<"$out"); rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out") ;;
        h2) read -r n rate < <(taskset -c 1 node bench/h2-load.js https://127.0.0.1:18443/ "$dur" 100) ;;
      esac
      cpu=$(awk -v a="$t0" -v b="$(ticks "$pid")" -v n="${n:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print "NA" }')
      echo "$s,$r,$sc,$rate,$cpu"
    done
    kill "$pid"; wait "$pid" 2>/dev/null; sleep 0.5
  done
done
