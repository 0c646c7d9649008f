#!/usr/bin/env bash
# runpilot.sh: what a batch job runs to start panda-pilot on a worker node.
#
# Finds a Node runtime and the pilot bundle (release tree first), checks the
# node, makes a private work dir, runs the site prolog, reports the worker to
# Harvester, runs the pilot while forwarding batch signals to it, runs the
# site epilog, cleans up, and exits with the pilot's code (README: "Running
# on a batch system" has the exit code table).
#
# Deliberately no `set -e`: every step checks its own status so a failure
# says where it stopped and which exit code it maps to.
set -uo pipefail

# The release build writes its version here; a checkout reads package.json's (one version string).
WRAPPER_VERSION='@PANDA_PILOT_VERSION@'
readonly MIN_NODE_MAJOR=20 MIN_NODE_MINOR=19
readonly FORWARDED_SIGNALS=(TERM INT QUIT HUP USR1 USR2 XCPU BUS)
# Exit codes of the wrapper's own failures (the pilot's codes pass through).
readonly EXIT_SETUP=1 EXIT_PROLOG=3 EXIT_RELEASE=64 EXIT_MKDIR=66 EXIT_NOSPACE=69 EXIT_PILOT_CRASH=70
WRAPPER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly WRAPPER_DIR
LAUNCH_DIR=$PWD
readonly LAUNCH_DIR
if [ "$WRAPPER_VERSION" = "@PANDA_PILOT_VERSION""@" ]; then
  WRAPPER_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$WRAPPER_DIR/../package.json" 2>/dev/null | head -n 1)
  WRAPPER_VERSION="${WRAPPER_VERSION:-unknown} (checkout)"
fi
readonly WRAPPER_VERSION

log() { printf '%s [runpilot] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
err() { printf '%s [runpilot] ERROR: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

usage() {
  cat <<'EOF'
Usage: runpilot.sh -q QUEUE [wrapper options] [pilot options...]

Starts panda-pilot on this worker node. Options the wrapper does not know are
passed to the pilot unchanged (e.g. --url URL, -s SITE, --slots N, --api v1).

Wrapper options:
  -q QUEUE              PanDA queue (required; passed to the pilot)
  -i PR|RC              pilot type (production / release candidate; passed on)
  -j LABEL              prodSourceLabel to ask for (passed on)
  -t                    no proxy verification (passed on)
  -a DIR                make the private work dir inside DIR (default: $TMPDIR, else the current dir)
  --piloturl URL|local  fetch the pilot bundle from URL (http(s) or file://);
                        "local": run in the current dir with the local pilot
  --pilotversion X.Y.Z  use panda_env/vX.Y.Z of the release tree (a pilot3 pin such as 3 or 3.7.2.2 is logged and ignored)
  --pandaenvtag TAG     use panda_env/TAG of the release tree (default: current)
  --release DIR         release tree (or $PANDA_PILOT_RELEASE): DIR or DIR/panda_env/<tag>
                        holding runtime/bin/node and pilot/panda-pilot.mjs
  --pilot FILE          pilot bundle (or $PANDA_PILOT_FILE) when there is no release tree
  --workdir DIR         run in DIR as given (not cleaned afterwards)
  --keep-workdir        never delete the work dir
  --keep-workdir-on-failure   keep the work dir when the pilot exits non-zero
  --min-free-mb N       free space the work area needs (default 2048, or $PANDA_PILOT_MIN_FREE_MB)
  -h, --help            this text

Environment: LSST_LOCAL_PROLOG (sourced before the pilot; exported variables
reach the payload; if it fails, the pilot does not start: exit 3),
LSST_LOCAL_EPILOG (run in the work dir after the pilot, with the work dir as $1
and the exit code as $2), LSST_LOCAL_HOOK_TIMEOUT (seconds, default 600),
HARVESTER_ID + HARVESTER_WORKER_ID (report the worker started/finished).
EOF
}

# ---------------------------------------------------------------- signals
# Installed first, so a signal that arrives while we prepare is not lost:
# it stops the start-up, and the pilot is never started.
FIRST_SIGNAL=""
TRAPPED=0
CHILD_PID=""
CHILD_KIND=""

# shellcheck disable=SC2317  # reached through the traps below
on_signal() {
  local sig=$1
  TRAPPED=1
  [ -n "$FIRST_SIGNAL" ] || FIRST_SIGNAL=$sig
  if [ -n "$CHILD_PID" ] && [ "$CHILD_KIND" = pilot ]; then
    log "received SIG$sig: forwarding it to the pilot (pid $CHILD_PID) and waiting for its final report"
    kill -s "$sig" "$CHILD_PID" 2>/dev/null || true
  elif [ -n "$CHILD_PID" ]; then
    log "received SIG$sig during the $CHILD_KIND: stopping it"
    kill -s TERM "$CHILD_PID" 2>/dev/null || true
  else
    log "received SIG$sig before the pilot started: it will not start"
  fi
}
for _sig in "${FORWARDED_SIGNALS[@]}"; do
  # shellcheck disable=SC2064  # the signal name is fixed when the trap is set, on purpose
  trap "on_signal $_sig" "$_sig"
done

# Waits for the background child, even when signals interrupt `wait`
# (bash returns 128+n then; waiting again gives the child's own status).
wait_child() {
  local rc
  while :; do
    TRAPPED=0
    wait "$CHILD_PID"
    rc=$?
    [ "$TRAPPED" = 1 ] || break
  done
  CHILD_PID=""
  CHILD_KIND=""
  return "$rc"
}

signal_exit_code() { echo $((128 + $(kill -l "$1"))); }

# Called between start-up steps: a pending signal ends the wrapper here.
stop_if_signalled() {
  [ -n "$FIRST_SIGNAL" ] || return 0
  local code
  code=$(signal_exit_code "$FIRST_SIGNAL")
  log "stopping before the pilot started because of SIG$FIRST_SIGNAL (exit $code)"
  finish "$code"
}

# ---------------------------------------------------------------- arguments
QUEUE="" PILOT_TYPE="" JOB_LABEL="" NO_PROXY_CHECK=0 PILOT_URL="" PILOT_VERSION="" ENV_TAG=""
RELEASE=${PANDA_PILOT_RELEASE:-} PILOT_FILE=${PANDA_PILOT_FILE:-} WORKDIR_BASE="" WORKDIR_GIVEN=""
KEEP_WORKDIR=0 KEEP_ON_FAILURE=0 MIN_FREE_MB=${PANDA_PILOT_MIN_FREE_MB:-2048}
PASS=()

# pilot-wrapper passes pilot3's version (`--pilotversion 3`, `3.7.2.2`, `latest`):
# that pins pilot3, not this pilot, so only an X.Y.Z of ours selects a release.
set_pilot_version() {
  local v=${1#v}
  if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then PILOT_VERSION=$v
  else log "--pilotversion $1 is a pilot3 version pin: not applicable (release: --pandaenvtag or panda_env/current)"
  fi
}
# pilot-wrapper (runpilot2/3-wrapper.sh) options Harvester templates pass: not applicable here, logged once.
wrapper_not_applicable() { log "pilot-wrapper option $* accepted, not applicable here"; }

need_value() { [ "$2" -ge 2 ] || { err "option $1 needs a value"; usage >&2; exit "$EXIT_SETUP"; }; }
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -q | --queue) need_value "$1" $#; QUEUE=$2; shift 2 ;;
    -i) need_value "$1" $#; PILOT_TYPE=$2; shift 2 ;;
    -j) need_value "$1" $#; JOB_LABEL=$2; shift 2 ;;
    -t) NO_PROXY_CHECK=1; shift ;;
    -a) need_value "$1" $#; WORKDIR_BASE=$2; shift 2 ;;
    --piloturl) need_value "$1" $#; PILOT_URL=$2; shift 2 ;;
    --pilotversion) need_value "$1" $#; set_pilot_version "$2"; shift 2 ;;
    --pandaenvtag) need_value "$1" $#; ENV_TAG=$2; shift 2 ;;
    --release) need_value "$1" $#; RELEASE=$2; shift 2 ;;
    --pilot) need_value "$1" $#; PILOT_FILE=$2; shift 2 ;;
    --workdir) need_value "$1" $#; WORKDIR_GIVEN=$2; shift 2 ;;
    --keep-workdir) KEEP_WORKDIR=1; shift ;;
    --keep-workdir-on-failure) KEEP_ON_FAILURE=1; shift ;;
    --min-free-mb) need_value "$1" $#; MIN_FREE_MB=$2; shift 2 ;;
    --container | --localpy | --mute) wrapper_not_applicable "$1"; shift ;;
    --pythonversion | --cvmfsbase | --harvester | --harvester_workflow) need_value "$1" $#; wrapper_not_applicable "$1 $2"; shift 2 ;;
    --pythonversion=* | --cvmfsbase=*) wrapper_not_applicable "$1"; shift ;;
    --) shift; PASS+=("$@"); break ;;
    *) PASS+=("$1"); shift ;;
  esac
done
if [ -z "$QUEUE" ]; then
  err "-q QUEUE is required"
  usage >&2
  exit "$EXIT_SETUP"
fi
case $MIN_FREE_MB in '' | *[!0-9]*) err "--min-free-mb must be a whole number of MB, got '$MIN_FREE_MB'"; exit "$EXIT_SETUP" ;; esac

# ---------------------------------------------------------------- finishing
WORKDIR="" WORKDIR_OWNED=0 PILOT_EXIT=""

run_epilog() {
  local rc=$1
  [ -n "${LSST_LOCAL_EPILOG:-}" ] && [ -n "$WORKDIR" ] || return 0
  if [ ! -r "$LSST_LOCAL_EPILOG" ]; then
    err "site epilog LSST_LOCAL_EPILOG=$LSST_LOCAL_EPILOG is missing or unreadable: skipped"
    return 0
  fi
  log "running site epilog $LSST_LOCAL_EPILOG (work dir $WORKDIR, exit code $rc)"
  # Its own process: whatever it does (exit, set -e, a failure) cannot touch our exit code.
  (cd "$WORKDIR" && PANDA_PILOT_WORKDIR=$WORKDIR PANDA_PILOT_EXIT_CODE=$rc \
    exec timeout -k 10 "${LSST_LOCAL_HOOK_TIMEOUT:-600}" bash "$LSST_LOCAL_EPILOG" "$WORKDIR" "$rc") &
  CHILD_PID=$! CHILD_KIND=epilog
  wait_child
  local hook_rc=$?
  if [ "$hook_rc" -ne 0 ]; then err "site epilog failed with status $hook_rc (ignored; exit code stays $rc)"; fi
}

cleanup_workdir() {
  local rc=$1
  [ -n "$WORKDIR" ] && [ -d "$WORKDIR" ] || return 0
  if [ "$WORKDIR_OWNED" != 1 ] || [ "$KEEP_WORKDIR" = 1 ]; then
    log "work dir kept: $WORKDIR"
  elif [ "$KEEP_ON_FAILURE" = 1 ] && [ "$rc" -ne 0 ]; then
    log "work dir kept after failure (exit $rc): $WORKDIR"
  else
    cd / && rm -rf -- "$WORKDIR" && log "work dir removed: $WORKDIR"
  fi
}

finish() {
  local rc=$1
  run_epilog "$rc"
  cleanup_workdir "$rc"
  log "exit $rc"
  exit "$rc"
}

# ---------------------------------------------------------------- finding the pilot
NODE="" PILOT="" TREE=""

# A release tree holds pilot/panda-pilot.mjs (and usually runtime/bin/node).
is_tree() { [ -f "$1/pilot/panda-pilot.mjs" ]; }

resolve_release() {
  local dir=$1 sub
  if [ -n "$PILOT_VERSION" ]; then sub=panda_env/v$PILOT_VERSION
  elif [ -n "$ENV_TAG" ]; then sub=panda_env/$ENV_TAG
  else sub=""
  fi
  if [ -n "$sub" ]; then
    is_tree "$dir/$sub" && TREE="$dir/$sub"
  elif is_tree "$dir"; then TREE=$dir
  elif is_tree "$dir/panda_env/current"; then TREE="$dir/panda_env/current"
  fi
  if [ -z "$TREE" ]; then
    err "release tree $dir has no ${sub:-pilot or panda_env/current}/pilot/panda-pilot.mjs (cvmfs not mounted or version missing?)"
    finish "$EXIT_RELEASE"
  fi
}

find_pilot() {
  if [ -n "$RELEASE" ]; then
    resolve_release "$RELEASE"
  elif [ -z "$PILOT_FILE" ] && [ -z "$PILOT_URL" ] && is_tree "$WRAPPER_DIR/.."; then
    # This wrapper sits inside a release tree (<tree>/wrapper/runpilot.sh).
    TREE=$(cd "$WRAPPER_DIR/.." && pwd)
  fi
  if [ -n "$TREE" ]; then
    PILOT="$TREE/pilot/panda-pilot.mjs"
    [ -x "$TREE/runtime/bin/node" ] && NODE="$TREE/runtime/bin/node"
  elif [ -n "$PILOT_FILE" ]; then
    PILOT=$PILOT_FILE
  elif [ -n "$PILOT_URL" ] && [ "$PILOT_URL" != local ]; then
    PILOT="$WORKDIR/panda-pilot.mjs"
    log "fetching the pilot from $PILOT_URL"
    # curl reads https_proxy/HTTPS_PROXY and no_proxy/NO_PROXY itself, but only the lower-case
    # http_proxy (CGI safety); the site's upper-case HTTP_PROXY counts for the pilot too.
    http_proxy=${http_proxy:-${HTTP_PROXY:-}} curl -fsSL --retry 3 --max-time 120 -o "$PILOT" "$PILOT_URL" || { err "could not fetch the pilot from $PILOT_URL"; finish "$EXIT_SETUP"; }
  else
    local c
    for c in "$WRAPPER_DIR/panda-pilot.mjs" "$WRAPPER_DIR/../dist/panda-pilot.mjs"; do
      [ -f "$c" ] && { PILOT=$c; break; }
    done
  fi
  if [ -z "$PILOT" ] || [ ! -r "$PILOT" ]; then
    err "no pilot bundle found (${PILOT:-tried --release, \$PANDA_PILOT_RELEASE, --pilot, \$PANDA_PILOT_FILE, $WRAPPER_DIR/panda-pilot.mjs, $WRAPPER_DIR/../dist/panda-pilot.mjs})"
    finish "$EXIT_SETUP"
  fi
  if [ -z "$NODE" ]; then
    NODE=$(command -v node) || { err "no Node.js runtime: the release tree has none and 'node' is not on PATH"; finish "$EXIT_SETUP"; }
  fi
  local version major minor
  version=$("$NODE" --version 2>/dev/null) || { err "$NODE --version failed"; finish "$EXIT_SETUP"; }
  IFS=. read -r major minor _ <<<"${version#v}"
  if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] ||
    [ "$major" -lt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -lt "$MIN_NODE_MINOR" ]; }; then
    err "Node.js $version at $NODE is too old: the pilot needs >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
    finish "$EXIT_SETUP"
  fi
  NODE_VERSION=$version
}

# ---------------------------------------------------------------- work dir
make_workdir() {
  if [ -n "$WORKDIR_GIVEN" ]; then
    WORKDIR=$WORKDIR_GIVEN
    mkdir -p -- "$WORKDIR" || { err "cannot create work dir $WORKDIR"; exit "$EXIT_MKDIR"; }
  elif [ "$PILOT_URL" = local ]; then
    WORKDIR=$PWD
  else
    local base=${WORKDIR_BASE:-${TMPDIR:-$PWD}}
    WORKDIR=$(mktemp -d "$base/panda_pilot_XXXXXXXX") || { err "cannot create a work dir in $base"; exit "$EXIT_MKDIR"; }
    WORKDIR_OWNED=1
  fi
  WORKDIR=$(cd "$WORKDIR" && pwd)
}

check_space() {
  local avail_kb
  avail_kb=$(df -Pk "$WORKDIR" | awk 'NR==2 {print $4}')
  FREE_MB=$((avail_kb / 1024))
  if [ "$FREE_MB" -lt "$MIN_FREE_MB" ]; then
    err "only $FREE_MB MB free in $WORKDIR; the pilot needs $MIN_FREE_MB MB"
    finish "$EXIT_NOSPACE"
  fi
}

# ---------------------------------------------------------------- site prolog
# Sourced in a child bash so an `exit` or a crash in it cannot end the wrapper;
# the child hands back its exported environment, which we take over.
run_prolog() {
  [ -n "${LSST_LOCAL_PROLOG:-}" ] || return 0
  if [ ! -r "$LSST_LOCAL_PROLOG" ]; then
    err "site prolog LSST_LOCAL_PROLOG=$LSST_LOCAL_PROLOG is missing or unreadable: skipped"
    return 0
  fi
  local dump="$WORKDIR/.prolog-env.$$"
  log "sourcing site prolog $LSST_LOCAL_PROLOG"
  # shellcheck disable=SC2016  # expanded by the child bash, not here
  timeout -k 10 "${LSST_LOCAL_HOOK_TIMEOUT:-600}" bash -c '__runpilot_dump=$1; shift; trap "export -p > \"\$__runpilot_dump\"" EXIT; . "$0"' \
    "$LSST_LOCAL_PROLOG" "$dump" &
  CHILD_PID=$! CHILD_KIND=prolog
  wait_child
  local rc=$?
  stop_if_signalled
  if [ -s "$dump" ]; then
    local name
    # Variables the prolog unset stay unset for the pilot.
    for name in $(compgen -e); do
      grep -Eq "^declare -x ${name}(=|\$)" "$dump" || unset "$name" 2>/dev/null
    done
    # The child shell's own bookkeeping is not the prolog's doing; -g because
    # `declare` inside a function would make the variables local to it.
    # shellcheck disable=SC1090  # the prolog's own environment, written by bash itself
    . <(grep -Ev '^declare -[a-zA-Z]+ (SHLVL|_|PWD|OLDPWD)(=|$)' "$dump" | sed -E 's/^declare -([a-zA-Z]+) /declare -g\1 /') 2>/dev/null
  fi
  rm -f -- "$dump"
  # A site's prolog is where it checks the node is fit; when it says no, no
  # PanDA job is pulled onto this node (a failing node would fail them all).
  if [ "$rc" -ne 0 ]; then
    err "site prolog $LSST_LOCAL_PROLOG failed with status $rc: the pilot will not start (exit $EXIT_PROLOG)"
    finish "$EXIT_PROLOG"
  fi
}

# ---------------------------------------------------------------- report
is_secret_name() {
  case ${1^^} in *TOKEN* | *SECRET* | *PASSWORD* | *PASSWD* | *AUTH* | *PROXY* | *CREDENTIAL* | *PRIVATE*) return 0 ;; esac
  return 1
}

env_report() {
  log "runpilot $WRAPPER_VERSION on $(hostname) as $(id -un 2>/dev/null || id -u), $(uname -sr)"
  log "node $NODE_VERSION ($NODE); pilot $PILOT${TREE:+ (release $TREE)}"
  log "work dir $WORKDIR ($FREE_MB MB free); queue $QUEUE${PILOT_TYPE:+, type $PILOT_TYPE}${JOB_LABEL:+, label $JOB_LABEL}"
  log "environment (secrets redacted):"
  local name value
  for name in $(compgen -e | sort); do
    if is_secret_name "$name"; then
      printf '  %s=<redacted>\n' "$name"
      continue
    fi
    [[ $name =~ ^(PANDA|HARVESTER|SLURM_(JOB_ID|JOB_NAME|CPUS_ON_NODE|MEM_PER_NODE|JOB_PARTITION)$|X509|LSST|RUBIN|OIDC|GRID_GLOBAL|_CONDOR_(JOB_AD|SCRATCH_DIR)|DAF_BUTLER|TMPDIR$|HOME$|PATH$|USER$) ]] || continue
    value=${!name}
    # A token pasted into an innocent-looking variable is still a token.
    [[ $value == eyJ*.*.* || $value == *"-----BEGIN"* ]] && value='<redacted>'
    printf '  %s=%s\n' "$name" "${value//$'\n'/\\n}"
  done
}

# ---------------------------------------------------------------- worker status
# Tells the server (Harvester's view of the worker) that this worker started or
# finished. Best effort: a failure is logged and never changes the exit code.
# Whether the pilot will run in Harvester push mode (--harvester-submit-mode PUSH, any case).
push_mode() {
  local arg prev=""
  for arg in "${PASS[@]}"; do
    if [ "$prev" = --harvester-submit-mode ] && [ "${arg,,}" = push ]; then return 0; fi
    [ "${arg,,}" = --harvester-submit-mode=push ] && return 0
    prev=$arg
  done
  return 1
}

worker_status() {
  [ -n "${HARVESTER_ID:-}" ] && [ -n "${HARVESTER_WORKER_ID:-}" ] || return 0
  local arg
  for arg in "${PASS[@]}"; do [ "$arg" = -k ] && return 0; done
  # Push mode: Harvester follows this worker through the access point; the server is not told.
  push_mode && return 0
  log "worker status $1 (harvester $HARVESTER_ID, worker $HARVESTER_WORKER_ID)"
  "$NODE" "$PILOT" worker-status --status "$1" -q "$QUEUE" --timeout 20 "${PASS[@]}" </dev/null &
  CHILD_PID=$! CHILD_KIND="worker status"
  wait_child || err "worker status '$1' was not delivered (status $?); carrying on"
}

# ---------------------------------------------------------------- leftover payloads
# The pilot records each payload's process group (and cgroup) under
# <pilot home>/payloads/<pgid> while it may have members. After the pilot has
# exited (a SIGKILL of the pilot leaves its payloads running: they have their
# own sessions), whatever those records name is killed: the group's members
# whose environment names the job dir (a recycled group id is left alone),
# and everything in the payload's cgroup.
kill_leftover_payloads() {
  local rec key value pgid cgroup jobdir p stat rest n=0
  for rec in "$WORKDIR"/PanDA_Pilot3_*/payloads/*; do
    [ -f "$rec" ] || continue
    case ${rec##*/} in '' | *[!0-9]*) continue ;; esac
    pgid="" cgroup="" jobdir=""
    while IFS='=' read -r key value; do
      case $key in pgid) pgid=$value ;; cgroup) cgroup=$value ;; jobdir) jobdir=$value ;; esac
    done <"$rec"
    case $pgid in '' | *[!0-9]* | 0 | 1) rm -f -- "$rec"; continue ;; esac
    for p in /proc/[0-9]*; do
      stat=$(cat "$p/stat" 2>/dev/null) || continue
      rest=${stat##*) }
      # fields after the name: state ppid pgrp …
      read -r _ _ key _ <<<"$rest"
      [ "$key" = "$pgid" ] || continue
      tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "PILOT_JOB_DIR=$jobdir" || continue
      kill -KILL "${p#/proc/}" 2>/dev/null && n=$((n + 1))
    done
    if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
      if [ -f "$cgroup/cgroup.kill" ]; then
        echo 1 >"$cgroup/cgroup.kill" 2>/dev/null
      else
        while read -r p; do kill -KILL "$p" 2>/dev/null && n=$((n + 1)); done <"$cgroup/cgroup.procs"
      fi
    fi
    rm -f -- "$rec"
  done
  [ "$n" -eq 0 ] || log "killed $n payload process(es) the pilot left behind"
}

# ---------------------------------------------------------------- the pilot
# The pilot's exit code, checked against the documented table (README).
map_pilot_exit() {
  local rc=$1
  case $rc in
    0 | 64 | 65 | 66 | 67 | 68 | 69 | 70 | 71 | 72 | 78 | 79 | 80 | 81 | 82 | 83) echo "$rc" ;;
    *)
      if [ "$rc" -gt 128 ] && [ "$rc" -le 192 ]; then echo "$rc"
      else echo "$EXIT_PILOT_CRASH"
      fi ;;
  esac
}

run_pilot() {
  local args=(-q "$QUEUE" -a "$WORKDIR")
  [ -n "$PILOT_TYPE" ] && args+=(-i "$PILOT_TYPE")
  [ -n "$JOB_LABEL" ] && args+=(-j "$JOB_LABEL")
  [ "$NO_PROXY_CHECK" = 1 ] && args+=(-t)
  args+=("${PASS[@]}")
  stop_if_signalled
  # Harvester starts the worker in its access point (initialdir); the pilot runs in the work dir, so it is told where that was.
  if push_mode && [ -z "${HARVESTER_WORKDIR:-}" ]; then
    export HARVESTER_WORKDIR=$LAUNCH_DIR
    log "push mode: access point $HARVESTER_WORKDIR (the launch dir)"
  fi
  log "starting: $NODE $PILOT ${args[*]}"
  (cd "$WORKDIR" && exec "$NODE" "$PILOT" "${args[@]}") </dev/null &
  CHILD_PID=$! CHILD_KIND=pilot
  wait_child
  PILOT_EXIT=$?
  kill_leftover_payloads
  local mapped
  mapped=$(map_pilot_exit "$PILOT_EXIT")
  if [ "$mapped" != "$PILOT_EXIT" ]; then
    err "pilot exited with unexpected status $PILOT_EXIT (crashed?); reporting $mapped"
  else
    log "pilot exited with $PILOT_EXIT${FIRST_SIGNAL:+ after SIG$FIRST_SIGNAL}"
  fi
  return "$mapped"
}

# ---------------------------------------------------------------- main
stop_if_signalled
make_workdir
stop_if_signalled
find_pilot
check_space
run_prolog
stop_if_signalled
env_report
worker_status started
stop_if_signalled
run_pilot
rc=$?
worker_status finished
finish "$rc"
