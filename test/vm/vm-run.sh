#!/usr/bin/env bash
# Runs one command inside a small emulated guest on cgroup v2 only, and
# returns its exit code with its output on stdout.
#
#   test/vm/vm-run.sh [--timeout SEC] [--mem MB] [--cpus N] -- 'command'
#
# The guest boots this machine's own kernel (linux-image-amd64) under QEMU's
# TCG (nested KVM does not work on this machine kind) with an initramfs of
# busybox-static and the 9p/overlay modules, sees the host's / read-only
# through 9p with a tmpfs over it (writes stay in guest RAM), and runs the
# command as root, from the current directory, in that tree. No network.
# Exit codes: the command's; 124 on timeout; 125 when the guest could not
# boot or run it (the serial log is printed on stderr then).
# The initramfs is cached in $VM_CACHE (default: ${TMPDIR:-/tmp}/panda-vm).
set -euo pipefail

timeout_sec=900
mem_mb=2048
cpus=2
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_sec="$2"; shift 2 ;;
    --mem) mem_mb="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: $0 [--timeout SEC] [--mem MB] [--cpus N] -- 'command'" >&2
  exit 2
fi
command_text="$*"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "vm-run: $*" >&2
  exit 125
}

# The newest installed kernel that has its modules.
kver=""
for k in /boot/vmlinuz-*; do
  v="${k#/boot/vmlinuz-}"
  [ -f "/lib/modules/$v/modules.dep" ] && kver="$v"
done
[ -n "$kver" ] || die "no kernel with modules in /boot and /lib/modules (apt-get install linux-image-amd64)"
kernel="/boot/vmlinuz-$kver"
[ -r "$kernel" ] || die "$kernel is not readable"
moddir="/lib/modules/$kver"
busybox=/bin/busybox
command -v qemu-system-x86_64 > /dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
file -L "$busybox" 2> /dev/null | grep -q 'statically linked' || {
  # Without `file`, trust busybox-static's path.
  [ -x /bin/busybox ] || die "busybox missing (apt-get install busybox-static)"
}

# Modules the guest needs, with their dependency chain from modules.dep
# (dependencies first): 9p over virtio-pci, and overlayfs.
wanted=(kernel/fs/9p/9p.ko kernel/net/9p/9pnet_virtio.ko kernel/drivers/virtio/virtio_pci.ko kernel/fs/overlayfs/overlay.ko)
declare -A seen=()
order=()
add_module() {
  local rel="$1" line deps d
  [ -n "${seen[$rel]:-}" ] && return 0
  seen[$rel]=1
  line="$(grep -E "^${rel//./\\.}(\.[a-z]+)?:" "$moddir/modules.dep" || true)"
  [ -n "$line" ] || die "module $rel is not in $moddir/modules.dep"
  deps="${line#*:}"
  for d in $deps; do add_module "${d%.ko*}.ko"; done
  order+=("${line%%:*}")
}
for m in "${wanted[@]}"; do add_module "$m"; done

cache="${VM_CACHE:-${TMPDIR:-/tmp}/panda-vm}"
mkdir -p "$cache"
key="$(cat "$here/init.sh" "$busybox" | sha256sum | cut -c1-12)-$kver"
initrd="$cache/initramfs-$key.cpio.gz"
if [ ! -s "$initrd" ]; then
  stage="$(mktemp -d "$cache/stage.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp,modules}
  cp "$busybox" "$stage/bin/busybox"
  cp "$here/init.sh" "$stage/init"
  chmod 755 "$stage/init"
  : > "$stage/modules/order"
  for rel in "${order[@]}"; do
    name="$(basename "$rel")"
    case "$name" in
      *.ko) cp "$moddir/$rel" "$stage/modules/$name" ;;
      *.ko.xz) xz -dc "$moddir/$rel" > "$stage/modules/${name%.xz}"; name="${name%.xz}" ;;
      *.ko.zst) zstd -qdc "$moddir/$rel" > "$stage/modules/${name%.zst}"; name="${name%.zst}" ;;
      *) die "unknown module format $rel" ;;
    esac
    echo "$name" >> "$stage/modules/order"
  done
  (cd "$stage" && find . | "$busybox" cpio -o -H newc 2> /dev/null | gzip -1 > "$initrd.tmp") || die "cannot build the initramfs"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$stage"
  trap - EXIT
fi

results="$(mktemp -d "${TMPDIR:-/tmp}/panda-vm-run.XXXXXX")"
trap 'rm -rf "$results"' EXIT
{
  echo "cd $(printf '%q' "$PWD") || exit 125"
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 IN_TEST_VM=1"
  [ -n "${CI:-}" ] && echo "export CI=$(printf '%q' "$CI")"
  echo "$command_text"
} > "$results/job.sh"

started=$(date +%s.%N)
set +e
timeout --kill-after=15 "$timeout_sec" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem_mb" \
  -nographic -no-reboot -nodefaults -serial "file:$results/serial.log" -monitor none \
  -nic none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1 cgroup_no_v1=all edd=off mitigations=off" \
  -virtfs "local,path=/,mount_tag=hostfs,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$results,mount_tag=results,security_model=none" \
  < /dev/null
qemu_rc=$?
set -e
ended=$(date +%s.%N)

[ -f "$results/output" ] && cat "$results/output"
boot="$(tr '\n' ' ' < "$results/boot.txt" 2> /dev/null || true)"
echo "vm-run: wall $(awk -v a="$started" -v b="$ended" 'BEGIN{printf "%.1f", b-a}') s; guest $boot(kernel $kver, TCG, ${cpus} vCPU, ${mem_mb} MB)" >&2
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
  echo "vm-run: the guest did not finish within ${timeout_sec} s; serial log:" >&2
  tail -n 50 "$results/serial.log" >&2 || true
  exit 124
fi
if [ ! -f "$results/rc" ]; then
  echo "vm-run: the guest did not run the command (qemu exit $qemu_rc); serial log:" >&2
  tail -n 50 "$results/serial.log" >&2 || true
  exit 125
fi
exit "$(cat "$results/rc")"
