#!/usr/bin/env bash
# A real S3-compatible server on 127.0.0.1 for tests: a single-node Ceph cluster (one ceph-mon,
# one ceph-osd on memstore, one radosgw with the beast frontend), started without systemd.
#
#   scripts/s3-local.sh start   # installs Ceph from Debian if missing, starts it, prints the env
#   scripts/s3-local.sh env     # prints the env of the running server (exit 1 when none)
#   scripts/s3-local.sh stop    # stops every daemon it started and removes the state dir
#   eval "$(scripts/s3-local.sh start)"   # exports TESSERA_S3_ENDPOINT, AWS_* in this shell
#
# Everything lives under $TESSERA_S3_DIR (default /tmp/tessera-s3): ceph.conf, keyrings, the mon
# store, logs (log/*.log from the daemons, log/*.out their stdout/stderr), PID files (run/*.pid).
# Only `export …` lines go to stdout; progress and errors go to stderr. How it works and every
# pitfall met on the way: docs/s3-local.md.
set -euo pipefail

STATE="${TESSERA_S3_DIR:-/tmp/tessera-s3}"
# RAM of the in-memory OSD (memstore): every stored object lives in it, up to this cap.
OSD_BYTES="${TESSERA_S3_OSD_BYTES:-$((1024 * 1024 * 1024))}"
# How long `start` waits for radosgw to answer S3 (it creates its pools first: ~2 s here).
READY_TIMEOUT_S="${TESSERA_S3_READY_TIMEOUT_S:-90}"
ACCESS_KEY="${TESSERA_S3_ACCESS_KEY:-tessera-local-access}"
SECRET_KEY="${TESSERA_S3_SECRET_KEY:-tessera-local-secret-0123456789abcdef}"
REGION="${TESSERA_S3_REGION:-us-east-1}"
DAEMONS=(rgw osd mon) # every daemon `start` runs: `running` and the readiness wait check them all
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 # of the empty body

log() { printf 's3-local: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The EXIT trap of `start`: a start that fails once it began spawning daemons — through `die` or
# through any command `set -e` stops at — stops what it started and keeps the logs.
stop_failed_start() {
  local status=$?
  [ "$status" = 0 ] && return
  kill_daemons
  log "start failed (exit $status); daemons stopped; logs kept in $STATE/log (the next start removes them)"
}

# Every Ceph command reads our config, never /etc/ceph.
ceph_() { ceph -c "$STATE/ceph.conf" --connect-timeout 20 "$@"; }

# A TCP port nobody listens on now (the kernel picks it; a tiny race we accept for a test server).
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

pid_of() { cat "$STATE/run/$1.pid" 2>/dev/null; }
# A daemon that exited stays a zombie until PID 1 reaps it (we are not its parent once our shell
# has exited, and this machine's init reaps slowly): `kill -0` succeeds on a zombie, so look at
# its state too.
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
pid_alive() {
  local pid
  pid="$(pid_of "$1")" && [ -n "$pid" ] && alive "$pid"
}

# Runs a daemon in foreground mode (-f) in the background of this shell: stdin from /dev/null,
# stdout and stderr to log/<name>.out, its PID to run/<name>.pid. `setsid` puts it in a session
# of its own, so a caller reading our output (`$(…)`, a CI step) never waits on the daemon, and a
# Ctrl-C in the caller's terminal does not reach it. (Without -f Ceph daemons fork and detach by
# themselves, but then the PID we hold is not theirs.) `9>&-`: the daemon must not inherit the
# descriptor of our lock file, or it would hold the lock for as long as it runs.
spawn() {
  local name="$1"
  shift
  setsid "$@" </dev/null >"$STATE/log/$name.out" 2>&1 9>&- &
  echo $! >"$STATE/run/$name.pid"
}

print_env() {
  local port
  port="$(cat "$STATE/rgw.port")"
  printf 'export TESSERA_S3_ENDPOINT=http://127.0.0.1:%s\n' "$port"
  printf 'export TESSERA_S3_FORCE_PATH_STYLE=true\n'
  printf 'export AWS_ACCESS_KEY_ID=%s\n' "$ACCESS_KEY"
  printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$SECRET_KEY"
  printf 'export AWS_REGION=%s\n' "$REGION"
}

running() {
  [ -f "$STATE/ready" ] || return 1
  local d
  for d in "${DAEMONS[@]}"; do pid_alive "$d" || return 1; done
}

install_ceph() {
  if command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null \
    && command -v radosgw-admin >/dev/null && command -v ceph-authtool >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "Ceph is not installed, and installing it needs root: apt-get install -y ceph-mon ceph-osd radosgw ceph-common"
  log "installing ceph-mon ceph-osd radosgw ceph-common from Debian…"
  local t0=$SECONDS
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common >/dev/null
  log "installed in $((SECONDS - t0)) s"
}

write_conf() {
  local fsid="$1" mon_port="$2" rgw_port="$3"
  cat >"$STATE/ceph.conf" <<EOF
# Written by scripts/s3-local.sh: a throw-away single-node cluster on 127.0.0.1 (docs/s3-local.md).
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_msgr1 = false
# cephx everywhere: with auth none radosgw looped at AUTH_CONNECTING and never came up.
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
ms_mon_client_mode = crc
ms_client_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
keyring = $STATE/\$name.keyring
run_dir = $STATE/run
admin_socket = $STATE/run/\$name.asok
pid_file = $STATE/run/\$name.daemon-pid
log_file = $STATE/log/\$name.log
log_to_stderr = false
err_to_stderr = true
mon_cluster_log_file = $STATE/log/cluster.log
crash_dir = $STATE/crash
# One OSD holds one copy of everything.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
# radosgw creates ~7 pools; few PGs each keeps one OSD cheap and under the per-OSD PG limit.
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_allow_pool_delete = true
# The mon shuts itself down below mon_data_avail_crit (5 %) free on its disk; a shared /tmp
# must not kill a test server. The mon store is a few MiB.
mon_data_avail_warn = 2
mon_data_avail_crit = 1
# Each map change waits for the next paxos proposal, 1 s apart by default: radosgw's first start
# makes ~10 of them (pool create + application enable per pool). 0.1 s cuts ~8 s off start.
paxos_propose_interval = 0.1

[mon]
mon_data = $STATE/mon.\$id

[osd]
osd_data = $STATE/osd.\$id
osd_objectstore = memstore
memstore_device_bytes = $OSD_BYTES
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_thread_pool_size = 64
EOF
}

# True when the radosgw we started owns the listening socket on its port (not some other server
# that happens to sit there).
rgw_listens() {
  ss -Hltnp "sport = :$(cat "$STATE/rgw.port")" 2>/dev/null | grep -q "pid=$(pid_of rgw),"
}

# True when our radosgw listens and answers a request signed with our user's keys with
# ListAllMyBucketsResult owned by that user (an anonymous GET / answers it too, owned by
# "anonymous": that would not prove the keys work).
answers_s3() {
  rgw_listens || return 1
  # curl 7.88 signs only host and x-amz-date; S3 also wants the payload hash (of the empty body).
  curl -fsS -m 5 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "http://127.0.0.1:$(cat "$STATE/rgw.port")/" 2>/dev/null \
    | grep -q '<ListAllMyBucketsResult.*<ID>tessera</ID>'
}

start() {
  exec 9>"$STATE.lock"
  flock -w 300 9 || die "another s3-local.sh holds $STATE.lock"
  if running; then
    log "already running (state in $STATE)"
    print_env
    return
  fi
  if [ -e "$STATE" ]; then
    log "stale state in $STATE: stopping what is left of it and starting afresh"
    kill_daemons
    rm -rf "$STATE"
  fi
  for tool in curl ss setsid flock node; do command -v "$tool" >/dev/null || die "needs $tool on PATH"; done
  install_ceph
  trap stop_failed_start EXIT
  local t0=$SECONDS
  mkdir -p "$STATE"/{run,log,crash,mon.a,osd.0}
  local fsid mon_port rgw_port
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  mon_port="$(free_port)"
  rgw_port="$(free_port)"
  echo "$rgw_port" >"$STATE/rgw.port"
  write_conf "$fsid" "$mon_port" "$rgw_port"

  # Keys: mon. and client.admin (for `ceph` and `radosgw-admin`), then osd.0 and client.rgw.a.
  ceph-authtool --create-keyring "$STATE/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$STATE/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  ceph-authtool "$STATE/mon.a.keyring" --import-keyring "$STATE/client.admin.keyring" >/dev/null

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$STATE/monmap" >/dev/null
  ceph-mon -c "$STATE/ceph.conf" --mkfs -i a --monmap "$STATE/monmap" --keyring "$STATE/mon.a.keyring" \
    >"$STATE/log/mon-mkfs.out" 2>&1 || die "ceph-mon --mkfs failed: $(tail -3 "$STATE/log/mon-mkfs.out")"
  spawn mon ceph-mon -c "$STATE/ceph.conf" -f -i a
  ceph_ status >/dev/null 2>&1 || die "the mon on port $mon_port does not answer: see $STATE/log/mon.a.log"
  log "mon up on 127.0.0.1:$mon_port"

  # One OSD on memstore. Its key is made and registered before mkfs, because `ceph-osd --mkfs`
  # already authenticates to the mon to fetch its config. It adds itself to the CRUSH map when it
  # starts (osd_crush_update_on_start).
  local osd_uuid osd_id
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  ceph-authtool --create-keyring "$STATE/osd.0.keyring" --gen-key -n osd.0 >/dev/null
  osd_id="$(ceph_ osd new "$osd_uuid")"
  [ "$osd_id" = 0 ] || die "expected osd id 0, got $osd_id"
  ceph_ auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -i "$STATE/osd.0.keyring" >/dev/null 2>&1
  ceph-osd -c "$STATE/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$STATE/log/osd-mkfs.out" 2>&1 \
    || die "ceph-osd --mkfs failed: $(tail -3 "$STATE/log/osd-mkfs.out")"
  spawn osd ceph-osd -c "$STATE/ceph.conf" -f -i 0

  # radosgw creates its pools itself once the OSD is up; it needs mon 'allow rw' for that.
  ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$STATE/client.rgw.a.keyring" >/dev/null 2>&1 || die "cannot create the key of client.rgw.a"
  spawn rgw radosgw -c "$STATE/ceph.conf" -f -n client.rgw.a
  log "osd and radosgw started; waiting up to ${READY_TIMEOUT_S} s for S3 on 127.0.0.1:$rgw_port"

  local user_made=0 deadline=$((SECONDS + READY_TIMEOUT_S))
  while :; do
    for d in "${DAEMONS[@]}"; do
      pid_alive "$d" || die "$d (pid $(pid_of "$d")) died: see $STATE/log/ ($(tail -2 "$STATE/log/$d.out" | tr '\n' ' '))"
    done
    # The user can be created as soon as radosgw has made its pools (radosgw-admin talks RADOS,
    # not HTTP); before that it would create the pools itself and race radosgw.
    if [ "$user_made" = 0 ] && rgw_listens; then
      radosgw-admin -c "$STATE/ceph.conf" user create --uid tessera --display-name "Tessera tests" \
        --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$STATE/log/user-create.out" 2>&1 \
        || die "radosgw-admin user create failed: $(tail -3 "$STATE/log/user-create.out")"
      user_made=1
    fi
    [ "$user_made" = 1 ] && answers_s3 && break
    [ "$SECONDS" -lt "$deadline" ] || die "radosgw did not answer S3 within ${READY_TIMEOUT_S} s: see $STATE/log/client.rgw.a.log"
    sleep 0.5
  done
  touch "$STATE/ready"
  trap - EXIT
  log "S3 ready at http://127.0.0.1:$rgw_port in $((SECONDS - t0)) s"
  print_env
}

# radosgw first (its shutdown waits on RADOS: with the OSD already gone it hangs until a second
# signal), then the OSD and the mon together. Whatever is still alive after 3 s gets KILL:
# memstore has nothing to flush, so nothing is lost that a test could want.
kill_daemons() {
  terminate rgw
  terminate osd mon
}

terminate() {
  local d pid pids=()
  for d in "$@"; do
    pid="$(pid_of "$d")" || continue
    if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then pids+=("$pid"); fi
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  local _ left
  for _ in $(seq 30); do
    left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

stop() {
  exec 9>"$STATE.lock"
  flock -w 60 9 || die "another s3-local.sh holds $STATE.lock"
  kill_daemons
  rm -rf "$STATE"
  log "stopped; $STATE removed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    running || die "not running (no live daemons or not ready in $STATE): run $0 start"
    print_env
    ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
