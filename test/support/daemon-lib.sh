# shellcheck shell=bash
# Shared by slurm-local.sh and arc-local.sh (sourced): daemons without systemd,
# known by their pid files.

# True when the pid file names a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process a pid file names: SIGTERM, up to 10 s, then SIGKILL.
stop_pidfile() {
  local f=$1 p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -9 "$p"; fi
  fi
  rm -f "$f"
}

# apt-get install of the PACKAGES array, quietly.
install_packages() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
}
