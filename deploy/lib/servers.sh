# shellcheck shell=bash
# Shared helpers for deploy/local/up, deploy/local/down and tests/run: install
# the Debian packages the project needs, build, and run throwaway PostgreSQL
# and Redis servers on loopback ports.
#
# Source this file; it defines functions and a few variables and runs nothing.
# Every function returns non-zero (after a message on stderr) on failure, so
# callers under `set -e` stop at the first problem. Every wait is bounded.

# The checkout this file belongs to (deploy/lib/ -> repository root).
QS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# Build directory, relative to the repository root unless absolute.
QS_BUILD_DIR="${QS_BUILD_DIR:-build}"
# Parallel build jobs: the CI machines have two cores.
QS_BUILD_JOBS="${QS_BUILD_JOBS:-2}"
# PostgreSQL major version whose binaries we run (Debian 12 ships 15).
QS_PG_VERSION="${QS_PG_VERSION:-15}"

# Everything the project needs, build and test time alike.
QS_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libpistache-dev rapidjson-dev libpqxx-dev libhiredis-dev prometheus-cpp-dev
  zlib1g-dev libzstd-dev zstd
  libgtest-dev libgmock-dev
  postgresql postgresql-client redis-server redis-tools
  curl python3 nodejs npm yamllint prometheus haproxy wrk
)

qs_log() {
  printf '[querystatus] %s\n' "$*" >&2
}

qs_die() {
  printf '[querystatus] error: %s\n' "$*" >&2
  return 1
}

# Absolute path of the build directory.
qs_build_dir() {
  case "$QS_BUILD_DIR" in
    /*) printf '%s\n' "$QS_BUILD_DIR" ;;
    *) printf '%s\n' "$QS_REPO_ROOT/$QS_BUILD_DIR" ;;
  esac
}

# ---------------------------------------------------------------------------
# Packages

# Whether package $1 is usable. A few are judged by their command rather than
# by dpkg: Node.js often comes from NodeSource (whose nodejs bundles npm, so
# the Debian npm package is absent and would conflict), psql comes from a
# versioned postgresql-client-NN, and promtool is all we use of prometheus.
qs__package_present() {
  local pkg="$1" status
  case "$pkg" in
    nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
    postgresql-client) command -v psql >/dev/null 2>&1 && return 0 ;;
    prometheus) command -v promtool >/dev/null 2>&1 && return 0 ;;
  esac
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" || return 1
  [[ "$status" == installed ]]
}

# Runs a command as root: directly when we are root, else through sudo
# without a password prompt (there is no stdin in CI).
qs__as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    qs_die "need root (or passwordless sudo) to run: $*"
  fi
}

# Runs "$@" up to three times; apt mirrors hiccup.
qs__retry() {
  local attempt
  for attempt in 1 2 3; do
    if "$@"; then
      return 0
    fi
    if [[ "$attempt" -lt 3 ]]; then
      qs_log "attempt $attempt failed: $*; retrying in 5 s"
      sleep 5
    fi
  done
  return 1
}

# Stops a service that a package's maintainer script may have started even
# though policy-rc.d said no (some systemd setups). Only services that the
# project must not have running: prometheus would take port 9090.
qs__stop_service() {
  local svc="$1"
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    if systemctl is-active --quiet "$svc" 2>/dev/null || systemctl is-enabled --quiet "$svc" 2>/dev/null; then
      qs_log "stopping and disabling the $svc service the package installed"
      qs__as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  elif [[ -x "/etc/init.d/$svc" ]]; then
    if qs__as_root "/etc/init.d/$svc" status >/dev/null 2>&1; then
      qs_log "stopping the $svc service the package started"
      qs__as_root "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
  fi
}

# Installs whichever of QS_PACKAGES are missing. Does not touch apt at all
# when everything is present. While installing, a policy-rc.d forbids
# package scripts to start services: the Debian PostgreSQL, Redis and
# Prometheus daemons would otherwise run on their default ports.
qs_install_packages() {
  local pkg missing=()
  for pkg in "${QS_PACKAGES[@]}"; do
    qs__package_present "$pkg" || missing+=("$pkg")
  done
  if [[ "${#missing[@]}" -eq 0 ]]; then
    qs_log "all required packages are present"
    return 0
  fi
  qs_log "installing missing packages: ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 ||
    qs_die "apt-get not found; install these packages by hand: ${missing[*]}" || return 1

  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [[ ! -e "$policy" ]]; then
    qs__as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" || return 1
    made_policy=1
  fi
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
  if ! qs__retry qs__as_root "${apt[@]}" update; then
    qs_log "apt-get update failed"
    rc=1
  elif ! qs__retry qs__as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null; then
    qs_log "apt-get install failed"
    rc=1
  fi
  if [[ "$made_policy" -eq 1 ]]; then
    qs__as_root rm -f "$policy" || true
  fi
  [[ "$rc" -eq 0 ]] || return 1
  qs__stop_service prometheus
  for pkg in "${missing[@]}"; do
    qs__package_present "$pkg" || qs_die "package $pkg is still missing after apt-get install" || return 1
  done
  qs_log "packages installed"
}

# ---------------------------------------------------------------------------
# Build

# Configures and builds the whole project (binary and tests) into the build
# directory.
qs_build() {
  local dir
  dir="$(qs_build_dir)"
  qs_log "building into $dir"
  # Release, as the image's build (deploy/build-release) compiles it, so the
  # test command's release step reuses these objects instead of compiling
  # everything a second time; tests on, whatever that step left cached.
  cmake -S "$QS_REPO_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DQS_BUILD_TESTS=ON &&
    cmake --build "$dir" -j"$QS_BUILD_JOBS"
}

# The build directory of a sanitizer tree: "asan" -> <build dir>-asan.
qs_sanitizer_build_dir() {
  printf '%s-%s\n' "$(qs_build_dir)" "$1"
}

# qs_build_sanitized NAME SANITIZERS: configures <build dir>-NAME with
# -DQS_SANITIZE=SANITIZERS (see CMakeLists.txt) and builds only what the
# sanitizer runs execute: the binary, unit_tests and integration_tests.
# Debug keeps assert() on; the sanitizer flags set -O1 and line tables
# (-g1: file:line in every report, at a fraction of full debug info's
# compile time).
qs_build_sanitized() {
  local name="$1" sanitizers="$2" dir
  [[ -n "$name" && -n "$sanitizers" ]] ||
    qs_die "usage: qs_build_sanitized NAME SANITIZERS" || return 1
  dir="$(qs_sanitizer_build_dir "$name")"
  qs_log "building with -fsanitize=$sanitizers into $dir"
  cmake -S "$QS_REPO_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DQS_SANITIZE="$sanitizers" &&
    cmake --build "$dir" -j"$QS_BUILD_JOBS" \
      --target querystatus unit_tests integration_tests
}

# qs_local_lock SCRIPT ARGS...: lets one deploy/local/up or down at a time
# run in this checkout. Called near the top of SCRIPT; the first call runs
# SCRIPT again under flock(1) and exits with its status, the call inside
# returns at once. flock -o keeps the lock's descriptor out of the servers
# the script starts, which would otherwise hold the lock forever.
qs_local_lock() {
  local script="$1"
  shift
  if [[ "${QS_LOCAL_LOCK_HELD:-}" == 1 ]]; then
    return 0
  fi
  mkdir -p "$QS_REPO_ROOT/.run"
  local rc=0
  QS_LOCAL_LOCK_HELD=1 flock -n -o -E 75 "$QS_REPO_ROOT/.run/lock" \
    "$QS_REPO_ROOT/$script" "$@" || rc=$?
  if [[ "$rc" -eq 75 ]]; then
    qs_die "another deploy/local/up or down is running in this checkout"
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------
# Ports

# Whether something holds TCP port $1 on loopback (listening or bound).
qs_port_in_use() {
  local port="$1"
  if command -v python3 >/dev/null 2>&1; then
    # The bind fails if a socket listens on the port, 0.0.0.0 included;
    # SO_REUSEADDR (which PostgreSQL, Redis and serve set too) lets it pass
    # connections lingering in TIME_WAIT, so a port freed by a server that
    # just stopped counts as free. The connect catches any other listener.
    python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", port))
except OSError:
    sys.exit(0)
finally:
    s.close()
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.settimeout(1)
try:
    c.connect(("127.0.0.1", port))
    sys.exit(0)
except OSError:
    sys.exit(1)
finally:
    c.close()
PY
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Prints a TCP port that nothing on loopback uses, chosen at random in
# 20000-32767: below Linux's ephemeral range, so an outgoing connection cannot
# grab it between this check and the server's bind. Ports given as arguments
# are never returned (for choosing several ports before starting anything).
qs_free_port() {
  local attempt port excluded
  for attempt in $(seq 1 200); do
    port=$((20000 + (RANDOM * 32768 + RANDOM + BASHPID + attempt) % 12768))
    for excluded in "$@"; do
      [[ "$port" == "$excluded" ]] && continue 2
    done
    if ! qs_port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  qs_die "no free port found on 127.0.0.1"
}

# Waits up to $1 seconds for "${@:2}" to succeed, polling every 0.2 s.
qs_wait_for() {
  local timeout="$1"
  shift
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if [[ "$SECONDS" -ge "$deadline" ]]; then
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------
# PostgreSQL

qs_pg_bin() {
  local bin="/usr/lib/postgresql/$QS_PG_VERSION/bin"
  if [[ ! -x "$bin/pg_ctl" ]]; then
    local candidate
    for candidate in /usr/lib/postgresql/*/bin; do
      [[ -x "$candidate/pg_ctl" ]] && bin="$candidate"
    done
  fi
  [[ -x "$bin/pg_ctl" ]] || qs_die "PostgreSQL server binaries not found under /usr/lib/postgresql" || return 1
  printf '%s\n' "$bin"
}

# PostgreSQL refuses to run as root; as root we run it as the postgres user,
# otherwise as ourselves. From / so that the user need not read our cwd.
qs__pg_as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    (cd / && runuser -u postgres -- env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$@")
  else
    (cd / && env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$@")
  fi
}

# Whether the server's user can create and use a data folder at $1: every
# parent must be traversable (a checkout under a mode 700 home is not, for
# the postgres user). Creates nothing.
qs_pg_dir_usable() {
  local dir="$1" parent
  [[ "$(id -u)" -eq 0 ]] || return 0
  id postgres >/dev/null 2>&1 || return 1
  parent="$dir"
  while [[ ! -e "$parent" ]]; do
    parent="$(dirname "$parent")"
  done
  if [[ "$parent" == "$dir" ]]; then
    runuser -u postgres -- test -x "$dir" 2>/dev/null
  else
    # We create the missing folders as root with mode 755, so only the
    # existing part of the chain matters.
    runuser -u postgres -- test -x "$parent" 2>/dev/null
  fi
}

# The port of the PostgreSQL server running on data folder $1 (from its
# postmaster.pid), or failure if none runs.
qs_pg_port() {
  local dir="$1"
  qs_pg_running "$dir" || return 1
  sed -n 4p "$dir/postmaster.pid"
}

# Whether a PostgreSQL server runs on data folder $1.
qs_pg_running() {
  local dir="$1" bin
  [[ -f "$dir/PG_VERSION" ]] || return 1
  bin="$(qs_pg_bin)" || return 1
  qs__pg_as_owner "$bin/pg_ctl" status -D "$dir" >/dev/null 2>&1
}

# qs_pg_start DIR PORT: starts PostgreSQL on 127.0.0.1:PORT with data folder
# DIR, running initdb first if DIR holds no cluster. Superuser `postgres`,
# trust authentication (loopback only), Unix socket in DIR/sock,
# pg_stat_statements preloaded. Tuned for tests: fsync off. Returns once the
# server accepts connections. If a server already runs on DIR it is left
# alone (and must be on PORT).
qs_pg_start() {
  local dir="$1" port="$2" bin
  [[ -n "$dir" && -n "$port" ]] || qs_die "usage: qs_pg_start DIR PORT" || return 1
  bin="$(qs_pg_bin)" || return 1
  if [[ "$(id -u)" -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    qs_die "the postgres user does not exist; install the postgresql package" || return 1
  fi
  if ! qs_pg_dir_usable "$dir"; then
    qs_die "the postgres user cannot reach $dir: a parent folder is not traversable" \
      "(mode 700?). Put the data elsewhere, e.g. under /tmp." || return 1
  fi
  mkdir -p "$dir" || return 1
  dir="$(cd "$dir" && pwd -P)"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown postgres:postgres "$dir" || return 1
  fi
  chmod 700 "$dir" || return 1
  if ! qs__pg_as_owner test -w "$dir"; then
    qs_die "the postgres user cannot write to $dir" || return 1
  fi

  if qs_pg_running "$dir"; then
    local running_port
    running_port="$(qs_pg_port "$dir")"
    if [[ "$running_port" != "$port" ]]; then
      qs_die "PostgreSQL already runs on $dir but on port $running_port, not $port" || return 1
    fi
    qs_log "PostgreSQL already running on 127.0.0.1:$port ($dir)"
    return 0
  fi

  if [[ ! -f "$dir/PG_VERSION" ]]; then
    qs_log "initdb $dir"
    if ! qs__pg_as_owner "$bin/initdb" -D "$dir" -A trust -U postgres \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1; then
      cat "$dir.initdb.log" >&2
      qs_die "initdb failed for $dir" || return 1
    fi
    rm -f "$dir.initdb.log"
  fi

  # A Unix socket path must fit in 107 bytes; beyond that, TCP only.
  local sockdir="$dir/sock"
  if [[ "${#sockdir}" -gt 90 ]]; then
    sockdir=""
  else
    qs__pg_as_owner mkdir -p "$sockdir" || return 1
  fi
  # The settings live in the data folder (querystatus.conf, included from
  # postgresql.conf) rather than on pg_ctl's command line, so that a plain
  # `pg_ctl -D DIR start` (the PostgreSQL outage test restarts the server so)
  # brings the server back on the same port with the same settings.
  # pg_stat_statements lets tests count the statements a request costs.
  local preload=""
  if [[ -f "$(dirname "$bin")/lib/pg_stat_statements.so" ]]; then
    preload="pg_stat_statements"
  fi
  qs__pg_as_owner tee "$dir/querystatus.conf" >/dev/null <<CONF || return 1
# Written by deploy/lib/servers.sh (qs_pg_start) at each start.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
shared_buffers = 128MB
shared_preload_libraries = '$preload'
# Throwaway data: durability traded for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  if ! grep -q "^include_if_exists = 'querystatus.conf'" "$dir/postgresql.conf"; then
    printf "\ninclude_if_exists = 'querystatus.conf'\n" |
      qs__pg_as_owner tee -a "$dir/postgresql.conf" >/dev/null || return 1
  fi
  qs_log "starting PostgreSQL on 127.0.0.1:$port ($dir)"
  if ! qs__pg_as_owner "$bin/pg_ctl" start -D "$dir" -w -t 60 -l "$dir/log" >/dev/null; then
    tail -n 30 "$dir/log" >&2 2>/dev/null || true
    qs_die "PostgreSQL did not start on port $port (log: $dir/log)" || return 1
  fi
  if ! qs_wait_for 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
    qs_die "PostgreSQL on port $port does not accept connections (log: $dir/log)" || return 1
  fi
}

# qs_pg_stop DIR: stops the PostgreSQL server on data folder DIR (fast mode:
# open sessions are cut). Does nothing if none runs.
qs_pg_stop() {
  local dir="$1" bin
  [[ -n "$dir" ]] || qs_die "usage: qs_pg_stop DIR" || return 1
  qs_pg_running "$dir" || return 0
  bin="$(qs_pg_bin)" || return 1
  qs_log "stopping PostgreSQL ($dir)"
  qs__pg_as_owner "$bin/pg_ctl" stop -D "$dir" -m fast -w -t 60 >/dev/null ||
    qs_die "PostgreSQL on $dir did not stop"
}

# qs_pg_createdb PORT NAME: creates database NAME on the server at
# 127.0.0.1:PORT unless it exists.
qs_pg_createdb() {
  local port="$1" name="$2" bin exists
  bin="$(qs_pg_bin)" || return 1
  # Through stdin: psql interpolates :'name' (quoted safely) there, not in -c.
  exists="$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'name';" |
    "$bin/psql" -X -w -q -t -A -h 127.0.0.1 -p "$port" -U postgres -d postgres -v name="$name")" ||
    return 1
  if [[ "$exists" != 1 ]]; then
    qs_log "creating database $name"
    "$bin/createdb" -w -h 127.0.0.1 -p "$port" -U postgres "$name" </dev/null
  fi
}

# ---------------------------------------------------------------------------
# Redis

# Whether the Redis server whose pid file is in $1 is alive.
qs_redis_running() {
  local dir="$1" pid
  [[ -f "$dir/redis.pid" ]] || return 1
  pid="$(cat "$dir/redis.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q redis "/proc/$pid/cmdline" 2>/dev/null
}

# Whether the Redis answering on 127.0.0.1:$2 is the one whose pid file is in
# $1 (another server on the same port would also answer PING).
qs__redis_is_ours() {
  local dir="$1" port="$2" pid answered
  pid="$(cat "$dir/redis.pid" 2>/dev/null)" || return 1
  answered="$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null |
    tr -d '\r' | sed -n 's/^process_id://p')"
  [[ -n "$pid" && "$answered" == "$pid" ]]
}

# qs_redis_start DIR PORT [OPTION...]: starts a Redis server on
# 127.0.0.1:PORT with its pid file and log in DIR, persistence off, and any
# further redis-server options (e.g. --cluster-enabled yes). Returns once it
# answers PING. If the server of DIR already runs (on PORT) it is left alone.
qs_redis_start() {
  local dir="$1" port="$2"
  [[ -n "$dir" && -n "$port" ]] || qs_die "usage: qs_redis_start DIR PORT [OPTION...]" || return 1
  shift 2
  command -v redis-server >/dev/null 2>&1 || qs_die "redis-server not installed" || return 1
  mkdir -p "$dir" || return 1
  dir="$(cd "$dir" && pwd -P)"
  if qs_redis_running "$dir"; then
    if qs__redis_is_ours "$dir" "$port"; then
      qs_log "Redis already running on 127.0.0.1:$port ($dir)"
      return 0
    fi
    qs_die "the Redis of $dir runs, but not on port $port" || return 1
  fi
  rm -f "$dir/redis.pid"
  # The log is appended to across runs; only what this start writes counts.
  local log_start=0
  [[ -f "$dir/redis.log" ]] && log_start="$(wc -c <"$dir/redis.log")"
  qs_log "starting Redis on 127.0.0.1:$port ($dir)"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly no \
    "$@" </dev/null || qs_die "redis-server failed (log: $dir/redis.log)" || return 1
  local deadline=$((SECONDS + 30))
  until qs_redis_running "$dir" && qs__redis_is_ours "$dir" "$port"; do
    # The daemon writes its pid file only after binding; a failed bind shows
    # in the log alone ("Failed listening on port ..., aborting").
    if [[ "$SECONDS" -ge "$deadline" ]] ||
      tail -c +"$((log_start + 1))" "$dir/redis.log" 2>/dev/null | grep -q 'aborting'; then
      tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
      qs_die "Redis did not come up on port $port (log: $dir/redis.log)" || return 1
    fi
    sleep 0.2
  done
  printf '%s\n' "$port" >"$dir/port"
}

# qs_redis_stop DIR: stops the Redis server whose pid file is in DIR (SIGTERM;
# SIGKILL after 30 s). Does nothing if none runs.
qs_redis_stop() {
  local dir="$1" pid
  [[ -n "$dir" ]] || qs_die "usage: qs_redis_stop DIR" || return 1
  qs_redis_running "$dir" || return 0
  pid="$(cat "$dir/redis.pid")"
  qs_log "stopping Redis ($dir)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! qs_wait_for 30 qs__pid_gone "$pid"; then
    qs_log "Redis (pid $pid) ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    qs_wait_for 5 qs__pid_gone "$pid" || qs_die "Redis (pid $pid) does not die" || return 1
  fi
  rm -f "$dir/redis.pid"
}

qs__pid_gone() {
  ! kill -0 "$1" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Redis Cluster

# Node timeout of the test clusters: a master that stops answering for this
# long is failed over to its replica (promotion follows within about a
# second more), so a failover test waits seconds, not the default 15 s.
QS_REDIS_CLUSTER_NODE_TIMEOUT_MS="${QS_REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"

# Whether every node listed in DIR/nodes answers cluster_state:ok, with all
# 16384 slots assigned and every node known to each.
qs__redis_cluster_ok() {
  local dir="$1" port info count
  count="$(wc -l <"$dir/nodes")"
  while read -r port; do
    info="$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | tr -d '\r')"
    grep -qx 'cluster_state:ok' <<<"$info" || return 1
    grep -qx 'cluster_slots_assigned:16384' <<<"$info" || return 1
    grep -qx "cluster_known_nodes:$count" <<<"$info" || return 1
  done <"$dir/nodes"
}

# Whether every master of the cluster of DIR has a replica attached and in
# sync: a failover test needs one to promote, and a replica that has not
# finished its first sync refuses to take over ("disconnected from master
# for longer than allowed").
qs__redis_cluster_replicated() {
  local dir="$1" port
  port="$(head -n 1 "$dir/nodes")"
  redis-cli -h 127.0.0.1 -p "$port" cluster nodes 2>/dev/null | tr -d '\r' |
    awk '$3 ~ /master/ && $3 !~ /fail/ { m[$1] = 1 }
      $3 ~ /slave/ && $3 !~ /fail/ { r[$4] = 1 }
      END { n = 0; for (id in m) { n++; if (!(id in r)) exit 1 } exit n == 0 }' ||
    return 1
  while read -r port; do
    if redis-cli -h 127.0.0.1 -p "$port" role 2>/dev/null | head -n 1 | grep -qx slave; then
      redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null | tr -d '\r' |
        grep -qx 'master_link_status:up' || return 1
    fi
  done <"$dir/nodes"
}

# qs_redis_cluster_start DIR [MASTERS]: starts a Redis Cluster of MASTERS
# (default 3) masters with one replica each on free loopback ports, node i in
# DIR/node-i (its own client and cluster-bus ports, both chosen free: the
# default bus port, the client port + 10000, could land on a port in use).
# Returns once every node reports cluster_state:ok and every master has its
# replica. Writes DIR/nodes (the client ports, one a line) and DIR/seeds
# (host:port,host:port,... for a redis-cluster:// URL).
qs_redis_cluster_start() {
  local dir="$1" masters="${2:-3}"
  [[ -n "$dir" ]] || qs_die "usage: qs_redis_cluster_start DIR [MASTERS]" || return 1
  command -v redis-cli >/dev/null 2>&1 || qs_die "redis-cli not installed" || return 1
  mkdir -p "$dir" || return 1
  dir="$(cd "$dir" && pwd -P)"
  if [[ -f "$dir/nodes" ]] && qs__redis_cluster_ok "$dir"; then
    qs_log "Redis Cluster already running ($dir)"
    return 0
  fi
  local i port bus taken=() addresses=() seeds=""
  : >"$dir/nodes"
  for i in $(seq 1 $((masters * 2))); do
    port="$(qs_free_port "${taken[@]}")" || return 1
    taken+=("$port")
    bus="$(qs_free_port "${taken[@]}")" || return 1
    taken+=("$bus")
    # A node of an earlier cluster in this folder would rejoin it.
    rm -f "$dir/node-$i/nodes.conf"
    qs_redis_start "$dir/node-$i" "$port" --cluster-enabled yes \
      --cluster-config-file "$dir/node-$i/nodes.conf" --cluster-port "$bus" \
      --cluster-node-timeout "$QS_REDIS_CLUSTER_NODE_TIMEOUT_MS" || return 1
    printf '%s\n' "$port" >>"$dir/nodes"
    addresses+=("127.0.0.1:$port")
    seeds="${seeds:+$seeds,}127.0.0.1:$port"
  done
  qs_log "creating a Redis Cluster of $masters masters and $masters replicas ($dir)"
  if ! redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 \
    --cluster-yes >"$dir/create.log" 2>&1; then
    cat "$dir/create.log" >&2
    qs_die "redis-cli --cluster create failed" || return 1
  fi
  if ! qs_wait_for 30 qs__redis_cluster_ok "$dir" ||
    ! qs_wait_for 30 qs__redis_cluster_replicated "$dir"; then
    redis-cli -h 127.0.0.1 -p "${taken[0]}" cluster nodes >&2 2>/dev/null || true
    qs_die "the Redis Cluster of $dir did not reach cluster_state:ok" || return 1
  fi
  printf '%s\n' "$seeds" >"$dir/seeds"
}

# qs_redis_cluster_stop DIR: stops every node of the cluster of DIR (a node a
# test already killed is skipped). Does nothing if none runs.
qs_redis_cluster_stop() {
  local dir="$1" node rc=0
  [[ -n "$dir" ]] || qs_die "usage: qs_redis_cluster_stop DIR" || return 1
  for node in "$dir"/node-*; do
    [[ -d "$node" ]] || continue
    qs_redis_stop "$node" || rc=1
  done
  return "$rc"
}
