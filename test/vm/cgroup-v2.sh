#!/usr/bin/env bash
# npm run test:cgroup-v2: boots the test guest (vm-run.sh) and runs the cgroup
# v2 tests inside it as root, as a delegated user and as a user without
# delegation (guest-cgroup-v2.sh). Needs dist/ (npm run build), root (the
# kernel image in /boot is root's), qemu-system-x86, linux-image-amd64 and
# busybox-static. Elsewhere it skips with the reason, except under CI=true:
# there a guest that cannot boot fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
skip() {
  if [ "${CI:-}" = true ]; then
    echo "test:cgroup-v2: cannot run: $* (CI must run it: .ci/run installs the packages)" >&2
    exit 1
  fi
  echo "test:cgroup-v2: skipped: $*" >&2
  exit 0
}
command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || skip "busybox missing (apt-get install busybox-static)"
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "no kernel in /boot (apt-get install linux-image-amd64)"
for k in /boot/vmlinuz-*; do [ -r "$k" ] || skip "$k is not readable by $(id -un) (run as root)"; done
[ -f dist/panda-pilot.mjs ] || skip "dist/ is not built (npm run build)"
# nice: the guest is two busy emulated CPUs; the machine's other work goes first.
guest_env=""
for v in CGROUP_V2_MODES CGROUP_V2_FILES; do
  [ -n "${!v:-}" ] && guest_env+="$v=$(printf '%q' "${!v}") "
done
exec nice test/vm/vm-run.sh --timeout "${VM_TIMEOUT:-1800}" --mem 2048 --cpus 2 -- "${guest_env}bash test/vm/guest-cgroup-v2.sh"
