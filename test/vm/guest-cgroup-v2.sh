#!/usr/bin/env bash
# Inside the test guest (see cgroup-v2.sh), as root, from the repository:
# runs the cgroup tests three times, the three ways a node hands out cgroup v2
# (test/integration/cgroup-v2.test.ts says what each proves):
#   root       root, vitest in the root cgroup, batch job cgroups under /batch
#   delegated  an unprivileged user (nobody) in a cgroup delegated to it
#   none       the same user in a cgroup it may not write
# Prints vitest's summary line of each, and the time each took.
set -euo pipefail
[ "${IN_TEST_VM:-}" = 1 ] || { echo "guest-cgroup-v2.sh: run me inside the guest (npm run test:cgroup-v2)" >&2; exit 2; }
export NO_COLOR=1 FORCE_COLOR=0
CG=/sys/fs/cgroup
repo="$PWD"
user=65534
# EL9 lets users read the kernel log (dmesg_restrict=0); Debian's kernel defaults to 1.
echo 0 > /proc/sys/kernel/dmesg_restrict
# vitest keeps its results cache and bundled config under node_modules: writable for the user too (in the guest's tmpfs).
mkdir -p node_modules/.vite node_modules/.vite-temp
chmod 1777 node_modules/.vite node_modules/.vite-temp
echo "+memory +pids" > "$CG/cgroup.subtree_control"

# Emulation is slow (a pilot run takes a minute or more): each mode runs what it alone can
# prove. cgroup-v2.test.ts is the whole story for every mode; as root also the payload
# cgroup's own tests (join before the first instruction, the kernel's kill, leftovers).
ROOT_FILES=(test/integration/cgroup-v2.test.ts test/integration/payload-cgroup.test.ts)
USER_FILES=(test/integration/cgroup-v2.test.ts)
# While working on one case: CGROUP_V2_MODES="root" CGROUP_V2_FILES="test/integration/cgroup-v2.test.ts".
modes="${CGROUP_V2_MODES:-root delegated none}"
# shellcheck disable=SC2206 # word splitting wanted: a list of paths
[ -n "${CGROUP_V2_FILES:-}" ] && ROOT_FILES=($CGROUP_V2_FILES) && USER_FILES=($CGROUP_V2_FILES)
# One worker for all files (--no-isolate): under emulation starting a worker can take
# longer than vitest's fixed 60 s start timeout on a busy host.
vitest_cmd=(node "$repo/node_modules/vitest/vitest.mjs" run --project main --maxWorkers=1 --no-isolate --testTimeout=300000 --hookTimeout=300000)
summary=()
failed=0

# run MODE CGROUP_DIR AS_USER FILES...: moves a shell into CGROUP_DIR, then runs vitest (as root or the user).
run() {
  local mode="$1" dir="$2" as_user="$3" start end rc=0 log
  shift 3
  log="/tmp/vitest-$mode.log"
  echo "== cgroup v2, $mode: ${dir#"$CG"}"
  start=$(date +%s)
  set +e
  if [ "$as_user" = yes ]; then
    # A user may move its own processes only within a sub-tree it owns: the shell joins the
    # cgroup as root, then becomes the user; in the delegated sub-tree the user's shell then
    # moves itself into a leaf of its own (no internal processes) and enables memory for it.
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$dir" \
      setpriv --reuid="$user" --regid="$user" --clear-groups \
      env HOME=/tmp PANDA_TEST_CGROUP_MODE="$mode" PANDA_TEST_CGROUP_AREA="$dir" \
      sh -c 'if [ -w "$0/cgroup.subtree_control" ]; then mkdir "$0/runner" && echo $$ > "$0/runner/cgroup.procs" && echo +memory > "$0/cgroup.subtree_control" || exit 1; fi; exec "$@"' "$dir" \
      "${vitest_cmd[@]}" "$@" 2>&1 | tee "$log"
  else
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$dir" \
      env PANDA_TEST_CGROUP_MODE="$mode" PANDA_TEST_CGROUP_AREA="$CG/batch" \
      "${vitest_cmd[@]}" "$@" 2>&1 | tee "$log"
  fi
  rc=${PIPESTATUS[0]}
  set -e
  end=$(date +%s)
  [ "$rc" -eq 0 ] || failed=1
  summary+=("$mode ($((end - start)) s, exit $rc): $(grep -E '^ +Tests +' "$log" | tr -s ' ' | sed 's/^ //' || echo 'no vitest summary')")
}

# Root: vitest in a batch-like cgroup of the root's; the tests' job cgroups under /batch.
mkdir -p "$CG/batch" "$CG/system.slice/ci"
echo +memory > "$CG/system.slice/cgroup.subtree_control"
[[ " $modes " == *" root "* ]] && run root "$CG/system.slice/ci" no "${ROOT_FILES[@]}"

# Delegated: what systemd's Delegate=yes gives a user: the directory and the files to move
# processes and enable controllers, with memory available from the parents.
deleg="$CG/user.slice/user-$user.slice/pilot-delegated"
mkdir -p "$deleg"
echo +memory > "$CG/user.slice/cgroup.subtree_control"
echo +memory > "$CG/user.slice/user-$user.slice/cgroup.subtree_control"
chown "$user:$user" "$deleg" "$deleg/cgroup.procs" "$deleg/cgroup.subtree_control" "$deleg/cgroup.threads"
[[ " $modes " == *" delegated "* ]] && run delegated "$deleg" yes "${USER_FILES[@]}"

# No delegation: the user's cgroup stays root's.
nodeleg="$CG/user.slice/user-$user.slice/pilot-not-delegated"
mkdir -p "$nodeleg"
[[ " $modes " == *" none "* ]] && run none "$nodeleg" yes "${USER_FILES[@]}"

echo "== summary (kernel $(uname -r), $(nproc) vCPU, guest up $(cut -d' ' -f1 /proc/uptime) s)"
printf '%s\n' "${summary[@]}"
exit "$failed"
