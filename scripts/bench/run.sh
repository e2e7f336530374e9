#!/usr/bin/env bash
# Side-by-side proxy benchmark: nginx (1 worker), haproxy (1 thread) and
# pingap (GOMAXPROCS=1) in front of the same Go backend, on this machine.
# Run by `make bench` and `make bench-compare`; never by `make test`.
# docs/benchmarks.md describes the setup and the latest results.
#
# Layout (two cores): every proxy pinned to CPU 0; the load generator (wrk or
# h2load) and the backend share CPU 1. Rounds are interleaved: for each round,
# for each test, nginx, haproxy and pingap run in turn, each after a short
# warm-up; tables show medians across rounds.
#
# Environment:
#   DURATION=10s      length of each measured run (wrk -d, h2load -D)
#   ROUNDS=3          rounds; a smoke run: DURATION=3s ROUNDS=1
#   WARMUP=1s         warm-up before each measured run
#   CONNECTIONS=50    client connections (wrk -c, h2load -c)
#   H2_STREAMS=10     concurrent streams per HTTP/2 connection (h2load -m)
#   TESTS="h1-13 h1-4k h1-100k h2-13"   tests to run
#   PINGAP_GMP2=1     also run pingap with GOMAXPROCS=2, unpinned, on h1-13 (0: skip)
#   BASE_PORT=18080   first of the loopback ports used (BASE_PORT..BASE_PORT+13)
#   RESULTS=scripts/bench/results/latest.md   where the Markdown report goes
#   SKIP_INSTALL=1    do not run install.sh
#   KEEP_TMP=1        keep the temp dir (configs, logs, raw measurements) for inspection
#   PINGAP_BIN=path   benchmark this pingap binary instead of building
#                     bin/pingap-dataplane (the data plane without the control
#                     plane linked in: what data-plane hosts run)
#   NGINX_EXTRA='...' directives added to nginx's proxy location, e.g.
#                     'proxy_buffer_size 16k; proxy_buffers 8 16k;' (default: none)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/scripts/bench

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1s}
CONNECTIONS=${CONNECTIONS:-50}
H2_STREAMS=${H2_STREAMS:-10}
TESTS=${TESTS:-h1-13 h1-4k h1-100k h2-13}
PINGAP_GMP2=${PINGAP_GMP2:-1}
BASE_PORT=${BASE_PORT:-18080}
RESULTS=${RESULTS:-$BENCH/results/latest.md}
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$ROUNDS'"
if ! [[ $BASE_PORT =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT > 65500)); then
  die "BASE_PORT must be in 1024..65500, not '$BASE_PORT'"
fi
for t in $TESTS; do
  case $t in h1-13 | h1-4k | h1-100k | h2-13) ;; *) die "unknown test '$t' in TESTS" ;; esac
done

# --- processes and cleanup --------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pingap-bench.XXXXXX")
PIDS=()   # every long-running process started here
LOADPID=  # the running wrk/h2load, if any

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n $LOADPID ]] && kill -TERM "$LOADPID" 2>/dev/null
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    log "run.sh: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ports.
P_BACKEND=$BASE_PORT
P_NGINX=$((BASE_PORT + 1)) P_NGINX_TLS=$((BASE_PORT + 11))
P_HAPROXY=$((BASE_PORT + 2)) P_HAPROXY_TLS=$((BASE_PORT + 12))
P_PINGAP=$((BASE_PORT + 3)) P_PINGAP_TLS=$((BASE_PORT + 13))
P_PINGAP2=$((BASE_PORT + 4))

# CPU pinning: proxies on CPU 0, load generator and backend on CPU 1.
if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
  PIN_PROXY=(taskset -c 0)
  PIN_LOAD=(taskset -c 1)
  PINNED=1
else
  log "run.sh: fewer than 2 CPUs (or no taskset): running unpinned; numbers are not comparable to docs/benchmarks.md"
  PIN_PROXY=()
  PIN_LOAD=()
  PINNED=0
fi

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() {
  local fd
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  exec {fd}>&-
  return 0
}

# http_get PORT PATH: prints "STATUS BODY_BYTES" of a GET over HTTP/1.1.
http_get() {
  local fd status line len=0
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
  if IFS=' ' read -r -t 5 _ status _ <&"$fd"; then
    while IFS= read -r -t 5 line <&"$fd"; do
      line=${line%$'\r'}
      [[ -z $line ]] && break
    done
    len=$(timeout 5 cat <&"$fd" | wc -c) || true
  fi
  exec {fd}>&-
  [[ -n ${status:-} ]] || return 1
  echo "$status $len"
}

# wait_ready PORT NAME [LOGFILE]: wait up to 10 s for an HTTP 200 on /13.
wait_ready() {
  local i out
  for ((i = 0; i < 100; i++)); do
    if out=$(http_get "$1" /13) && [[ $out == "200 13" ]]; then return 0; fi
    sleep 0.1
  done
  [[ -n ${3:-} && -s ${3:-} ]] && tail -n 20 "$3" >&2
  die "$2 did not answer 200 on 127.0.0.1:$1/13 (last: ${out:-no answer})"
}

# children PID: the direct children of PID.
children() {
  local d stat rest ppid
  for d in /proc/[0-9]*; do
    stat=$(<"$d/stat") 2>/dev/null || continue
    rest=${stat##*) }
    read -r _ ppid _ <<<"$rest"
    [[ $ppid == "$1" ]] && echo "${d#/proc/}"
  done
  return 0
}

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() {
  local sum=0 pid stat f
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || return 1
    read -r -a f <<<"${stat##*) }"
    # f[0] is field 3 (state): utime is field 14, stime field 15.
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}

# rss_kb PID...: summed VmRSS, in KiB.
rss_kb() {
  local sum=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") || return 1
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}

# --- tools, builds, configs -------------------------------------------------

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
  VERSIONS=$("$BENCH/install.sh")
else
  VERSIONS=$("$BENCH/install.sh" --versions-only)
fi
for cmd in nginx haproxy wrk h2load openssl; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/bench/install.sh installs it)"
done
CLK_TCK=$(getconf CLK_TCK)

for p in "$P_BACKEND" "$P_NGINX" "$P_NGINX_TLS" "$P_HAPROXY" "$P_HAPROXY_TLS" "$P_PINGAP" "$P_PINGAP_TLS" "$P_PINGAP2"; do
  port_open "$p" && die "port $p is in use; set BASE_PORT to a free range"
done

if [[ -n ${PINGAP_BIN:-} ]]; then
  [[ -x $PINGAP_BIN ]] || die "PINGAP_BIN=$PINGAP_BIN is not an executable"
  PINGAP=$(cd "$(dirname "$PINGAP_BIN")" && pwd)/$(basename "$PINGAP_BIN")
  log "run.sh: using $PINGAP; building the backend"
else
  log "run.sh: building bin/pingap-dataplane and the backend"
  mkdir -p bin
  go build -ldflags "-X github.com/pingap-go/pingap/internal/version.Version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" \
    -o bin/pingap-dataplane ./cmd/pingap-dataplane
  PINGAP=$ROOT/bin/pingap-dataplane
fi
go build -o "$TMP/backend" ./scripts/bench/backend
go build -o "$TMP/report" ./scripts/bench/report

# Self-signed certificate for the HTTP/2-over-TLS test (ECDSA P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/haproxy.pem"
# nginx workers may run as an unprivileged user: let them reach their files.
chmod 755 "$TMP"
mkdir -p "$TMP/nginx"

NGINX_AFFINITY=
((PINNED)) && NGINX_AFFINITY="worker_cpu_affinity 01;"
cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
$NGINX_AFFINITY
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx/client_body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  upstream backend {
    server 127.0.0.1:$P_BACKEND;
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$P_NGINX;
    listen 127.0.0.1:$P_NGINX_TLS ssl http2;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${NGINX_EXTRA:-}
    }
  }
}
EOF

HAPROXY_CPUMAP=
((PINNED)) && HAPROXY_CPUMAP="cpu-map 1/1 0"
cat >"$TMP/haproxy.cfg" <<EOF
global
  nbthread 1
  $HAPROXY_CPUMAP
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend bench
  bind 127.0.0.1:$P_HAPROXY
  bind 127.0.0.1:$P_HAPROXY_TLS ssl crt $TMP/haproxy.pem alpn h2,http/1.1
  default_backend backend
backend backend
  server backend 127.0.0.1:$P_BACKEND
EOF

pingap_conf() { # NAME PORT: a plain HTTP config
  cat <<EOF
[settings]
name = "$1"
log_level = "warn"

[upstreams.backend]
addrs = ["127.0.0.1:$P_BACKEND"]

[locations.all]
upstream = "backend"

[servers.http]
addr = "127.0.0.1:$2"
locations = ["all"]
EOF
}
pingap_conf bench "$P_PINGAP" >"$TMP/pingap.toml"
pingap_conf bench-gmp2 "$P_PINGAP2" >"$TMP/pingap-gmp2.toml"
cat >"$TMP/pingap-tls.toml" <<EOF
[settings]
name = "bench-tls"
log_level = "warn"

[upstreams.backend]
addrs = ["127.0.0.1:$P_BACKEND"]

[locations.all]
upstream = "backend"

[certificates.bench]
tls_cert = "$TMP/cert.pem"
tls_key = "$TMP/key.pem"
is_default = true

[servers.tls]
addr = "127.0.0.1:$P_PINGAP_TLS"
locations = ["all"]
certificates = ["bench"]
EOF

# --- start everything -------------------------------------------------------

declare -A PROC   # proxy -> PIDs whose CPU and memory are measured
declare -A URL    # test/proxy -> URL
declare -A NA     # test/proxy -> reason it is not measured
TLSINFO=          # TLS version and cipher each proxy negotiated

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "run.sh: load average before: $LOAD_BEFORE"
awk '{ if ($1 > 0.5) exit 1 }' /proc/loadavg ||
  log "run.sh: warning: the machine is busy (load $LOAD_BEFORE): numbers will be noisy"

GOMAXPROCS=1 "${PIN_LOAD[@]}" "$TMP/backend" -addr "127.0.0.1:$P_BACKEND" >"$TMP/backend.log" 2>&1 &
PIDS+=($!)
wait_ready "$P_BACKEND" backend "$TMP/backend.log"

"${PIN_PROXY[@]}" nginx -p "$TMP/nginx" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" >"$TMP/nginx.out" 2>&1 &
NGINX_MASTER=$!
PIDS+=("$NGINX_MASTER")
wait_ready "$P_NGINX" nginx "$TMP/nginx-error.log"
mapfile -t NGINX_WORKERS < <(children "$NGINX_MASTER")
((${#NGINX_WORKERS[@]} == 1)) || die "expected 1 nginx worker, found ${#NGINX_WORKERS[@]}"
PIDS+=("${NGINX_WORKERS[@]}")
PROC[nginx]="$NGINX_MASTER ${NGINX_WORKERS[*]}"

"${PIN_PROXY[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS+=($!)
PROC[haproxy]=$!
wait_ready "$P_HAPROXY" haproxy "$TMP/haproxy.log"

GOMAXPROCS=1 "${PIN_PROXY[@]}" "$PINGAP" dataplane --config "$TMP/pingap.toml" >"$TMP/pingap.log" 2>&1 &
PIDS+=($!)
PROC[pingap]=$!
wait_ready "$P_PINGAP" pingap "$TMP/pingap.log"

PROXIES=(nginx haproxy pingap)
if [[ $PINGAP_GMP2 == 1 ]]; then
  GOMAXPROCS=2 "$PINGAP" dataplane --config "$TMP/pingap-gmp2.toml" >"$TMP/pingap-gmp2.log" 2>&1 &
  PIDS+=($!)
  PROC[pingap-gmp2]=$!
  wait_ready "$P_PINGAP2" "pingap (GOMAXPROCS=2)" "$TMP/pingap-gmp2.log"
  PROXIES+=(pingap-gmp2)
fi

# Every proxy gets the same TLS 1.3 cipher (servers differ in which they prefer).
H2_TLS=(--tls13-ciphers=TLS_AES_128_GCM_SHA256)

# h2_probe URL: one request over HTTP/2 and TLS. Prints the TLS version and
# cipher, or why it failed.
h2_probe() {
  local out codes
  out=$("${PIN_LOAD[@]}" timeout 10 h2load "${H2_TLS[@]}" -n 1 -c 1 "$1" 2>&1) || true
  if ! grep -q '^TLS Protocol:' <<<"$out"; then
    echo "the port does not answer TLS"
    return 1
  fi
  if ! grep -q '^Application protocol: h2' <<<"$out"; then
    echo "no HTTP/2 negotiated (ALPN)"
    return 1
  fi
  if ! grep -q '^status codes: 1 2xx' <<<"$out"; then
    codes=$(awk '/^status codes:/ {for (i = 3; i <= NF; i += 2) if ($i > 0) {sub(",", "", $(i + 1)); print $(i + 1)}}' <<<"$out")
    echo "the HTTP/2 request failed (${codes:-no answer})"
    return 1
  fi
  # "TLS Protocol: TLSv1.3" and "Cipher: TLS_AES_128_GCM_SHA256", for the report.
  awk '/^TLS Protocol:/ {p = $3} /^Cipher:/ {c = $2} END {print p ", " c}' <<<"$out"
}

if [[ " $TESTS " == *" h2-13 "* ]]; then
  URL[h2-13/nginx]=https://127.0.0.1:$P_NGINX_TLS/13
  URL[h2-13/haproxy]=https://127.0.0.1:$P_HAPROXY_TLS/13
  URL[h2-13/pingap]=https://127.0.0.1:$P_PINGAP_TLS/13
  if ! out=$("$PINGAP" validate "$TMP/pingap-tls.toml" 2>&1); then
    NA[h2-13/pingap]="pingap rejects the TLS server config: $(head -n1 <<<"$out")"
  else
    GOMAXPROCS=1 "${PIN_PROXY[@]}" "$PINGAP" dataplane --config "$TMP/pingap-tls.toml" >"$TMP/pingap-tls.log" 2>&1 &
    PIDS+=($!)
    PROC[pingap-tls]=$!
    for ((i = 0; i < 100; i++)); do
      port_open "$P_PINGAP_TLS" && break
      kill -0 "${PROC[pingap-tls]}" 2>/dev/null || break
      sleep 0.1
    done
    if ! kill -0 "${PROC[pingap-tls]}" 2>/dev/null; then
      NA[h2-13/pingap]="pingap exited with the TLS config: $(tail -n1 "$TMP/pingap-tls.log")"
    elif ! port_open "$P_PINGAP_TLS"; then
      NA[h2-13/pingap]="pingap's TLS port did not open"
    fi
  fi
  for p in nginx haproxy pingap; do
    [[ -n ${NA[h2-13/$p]:-} ]] && continue
    if ! reason=$(h2_probe "${URL[h2-13/$p]}"); then
      NA[h2-13/$p]=$reason
    else
      TLSINFO+="${TLSINFO:+; }$p: $reason"
    fi
  done
fi

# Every proxy answers every path with the full body before anything is timed.
for p in "${PROXIES[@]}"; do
  case $p in
    nginx) port=$P_NGINX ;; haproxy) port=$P_HAPROXY ;; pingap) port=$P_PINGAP ;; pingap-gmp2) port=$P_PINGAP2 ;;
  esac
  for size in 13 4k 100k; do
    URL[h1-$size/$p]=http://127.0.0.1:$port/$size
    want=$size
    [[ $size == 4k ]] && want=4096
    [[ $size == 100k ]] && want=102400
    out=$(http_get "$port" "/$size") || out="no answer"
    [[ $out == "200 $want" ]] || die "$p: GET /$size answered '$out', want '200 $want'"
  done
done

# Idle memory, before any load.
: >"$TMP/idle.tsv"
for p in "${PROXIES[@]}"; do
  # shellcheck disable=SC2086 # PROC holds a list of PIDs
  printf '%s\t%s\n' "$p" "$(rss_kb ${PROC[$p]})" >>"$TMP/idle.tsv"
done

# --- measurements -----------------------------------------------------------

# to_ms VALUE: a wrk latency such as 255.00us, 4.05ms or 1.20s, in ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n
  }'
}

# run_load OUT CMD...: runs the load generator in the background so that a
# signal reaches the trap at once.
run_load() {
  local out=$1 rc=0
  shift
  "${PIN_LOAD[@]}" "$@" >"$out" 2>&1 &
  LOADPID=$!
  wait "$LOADPID" || rc=$?
  LOADPID=
  return "$rc"
}

printf 'test\tround\tproxy\trps\tp50_ms\tp99_ms\tcpu_us\trss_kb\trequests\terrors\n' >"$TMP/runs.tsv"

# measure TEST ROUND PROXY
measure() {
  local test=$1 round=$2 proxy=$3 url pids out="$TMP/load.out" t0 t1 rss
  local rps p50 p99 requests errors cpu_us
  url=${URL[$test/$proxy]}
  pids=${PROC[$proxy]}
  [[ $test == h2-* && $proxy == pingap ]] && pids=${PROC[pingap-tls]}
  if [[ $test == h1-* ]]; then
    run_load "$out" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "$url" || true
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    if ! run_load "$out" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$url"; then
      log "  $test $proxy round $round: wrk failed: $(tail -n1 "$out")"
      return 0
    fi
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    rss=$(rss_kb $pids)
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    requests=$(awk '/ requests in / {print $1}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    errors=$(awk '/^ *Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10} /^ *Non-2xx or 3xx responses:/ {e += $NF} END {print e + 0}' "$out")
  else
    local hlog="$TMP/h2.log"
    run_load "$out" h2load "${H2_TLS[@]}" -c"$CONNECTIONS" -m"$H2_STREAMS" -t1 -D"$WARMUP" "$url" || true
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    if ! run_load "$out" h2load "${H2_TLS[@]}" -c"$CONNECTIONS" -m"$H2_STREAMS" -t1 -D"$DURATION" --log-file="$hlog" "$url"; then
      log "  $test $proxy round $round: h2load failed: $(tail -n1 "$out")"
      return 0
    fi
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    rss=$(rss_kb $pids)
    rps=$(awk '/^finished in/ {print $4}' "$out")
    requests=$(awk '/^requests:/ {print $8}' "$out")
    errors=$(awk '/^requests:/ {e = $10 + $12 + $14} /^status codes:/ {e += $5 + $7 + $9} END {print e + 0}' "$out")
    read -r p50 p99 < <(cut -f3 "$hlog" | sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "0 0"; exit }
      i50 = int(NR * 0.50 + 0.5); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1
      printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
    rm -f "$hlog"
  fi
  if [[ -z $rps || -z $requests || $requests == 0 ]]; then
    log "  $test $proxy round $round: no requests completed: $(tail -n3 "$out")"
    return 0
  fi
  cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$round" "$proxy" "$rps" "$p50" "$p99" \
    "$cpu_us" "$rss" "$requests" "$errors" >>"$TMP/runs.tsv"
  log "$(printf '  %-8s round %s  %-12s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  %6.2f us/req CPU  %6.1f MB%s' \
    "$test" "$round" "$proxy" "$rps" "$p50" "$p99" "$cpu_us" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
    "$( ((errors > 0)) && echo "  $errors errors")")"
}

START=$(date +%s)
log "run.sh: $ROUNDS round(s) of: $TESTS; $DURATION per run after a $WARMUP warm-up"
for ((round = 1; round <= ROUNDS; round++)); do
  for test in $TESTS; do
    for p in "${PROXIES[@]}"; do
      [[ $p == pingap-gmp2 && $test != h1-13 ]] && continue
      [[ -n ${NA[$test/$p]:-} ]] && continue
      measure "$test" "$round" "$p"
    done
  done
done
ELAPSED=$(($(date +%s) - START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

: >"$TMP/na.tsv"
for key in "${!NA[@]}"; do
  printf '%s\t%s\t%s\n' "${key%%/*}" "${key#*/}" "${NA[$key]}" >>"$TMP/na.tsv"
done

# --- report -----------------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)
pingap_version=$("$PINGAP" version 2>/dev/null | awk '{print $2}')
cmdline="DURATION=$DURATION ROUNDS=$ROUNDS"
[[ $WARMUP != 1s ]] && cmdline+=" WARMUP=$WARMUP"
[[ $CONNECTIONS != 50 ]] && cmdline+=" CONNECTIONS=$CONNECTIONS"
[[ $H2_STREAMS != 10 ]] && cmdline+=" H2_STREAMS=$H2_STREAMS"
[[ $TESTS != "h1-13 h1-4k h1-100k h2-13" ]] && cmdline+=" TESTS='$TESTS'"
[[ $PINGAP_GMP2 != 1 ]] && cmdline+=" PINGAP_GMP2=$PINGAP_GMP2"
[[ -n ${PINGAP_BIN:-} ]] && cmdline+=" PINGAP_BIN=$PINGAP_BIN"
[[ -n ${NGINX_EXTRA:-} ]] && cmdline+=" NGINX_EXTRA='$NGINX_EXTRA'"
cmdline+=" scripts/bench/run.sh"
{
  echo "# Proxy benchmark: latest results"
  echo
  echo "Produced by \`$cmdline\` on $(date -u '+%Y-%m-%d %H:%M UTC'), pingap version ${pingap_version:-unknown}."
  echo
  echo "- machine: $(nproc) × $cpu_model, $os, Linux $(uname -r)"
  echo "- load average (1/5/15 min): $LOAD_BEFORE before, $LOAD_AFTER after; measuring took ${ELAPSED}s"
  echo "- tools: $(tr -s ' ' <<<"$VERSIONS" | paste -sd ';' - | sed 's/;/; /g'); $(go version | cut -d' ' -f3)"
  if ((PINNED)); then
    echo "- pinning: proxies on CPU 0 (nginx 1 worker, haproxy nbthread 1, pingap GOMAXPROCS=1); wrk/h2load and the backend on CPU 1"
  else
    echo "- pinning: none (fewer than 2 CPUs)"
  fi
  echo "- load: wrk -t1 -c$CONNECTIONS -d$DURATION --latency; h2load -t1 -c$CONNECTIONS -m$H2_STREAMS -D$DURATION; $WARMUP warm-up per run"
  [[ -n $TLSINFO ]] && echo "- TLS negotiated (self-signed ECDSA P-256): $TLSINFO"
  echo
  "$TMP/report" -runs "$TMP/runs.tsv" -idle "$TMP/idle.tsv" -na "$TMP/na.tsv" \
    -duration "$DURATION" -connections "$CONNECTIONS" -streams "$H2_STREAMS"
} >"$TMP/report.md"

mkdir -p "$(dirname "$RESULTS")"
cp "$TMP/report.md" "$RESULTS"
cat "$TMP/report.md"
log "run.sh: report written to ${RESULTS#"$ROOT"/}"
