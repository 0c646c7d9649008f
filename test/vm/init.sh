#!/bin/busybox sh
# shellcheck shell=sh
# /init of the test guest (test/vm/vm-run.sh builds it into the initramfs).
# Loads the 9p modules, mounts the host's / read-only with a tmpfs scratch over
# it, cgroup v2 only, runs /results/job.sh from the writable results share in
# a chroot of the host's tree, leaves its exit code next to it and powers off.
# No network: the guest has no NIC.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
read -r up _ < /proc/uptime
echo "kernel_up_sec=$up" > /tmp.boot
fail() {
  echo "vm-init: $*" > /dev/console
  reboot -f
}
# modules.order lists the 9p/virtio chain in modules.dep order (dependencies first).
while read -r m; do
  insmod "/modules/$m" || fail "insmod $m failed"
done < /modules/order
mkdir -p /host /results /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none results /results || fail "cannot mount the results share"
cat /tmp.boot > /results/boot.txt
# cache=loose: the host tree does not change under the guest during a run, and
# metadata round trips through 9p are what make an emulated guest slow.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro hostfs /host || fail "cannot mount the host's /"
# The host's / read-only at the bottom, a tmpfs on top: every write the tests
# make (node_modules/.vite, /tmp, the pilot's work dirs) lands in guest RAM.
mount -t tmpfs -o size=75% scratch /newroot
mkdir -p /newroot/upper /newroot/work /newroot/root
mount -t overlay -o lowerdir=/host,upperdir=/newroot/upper,workdir=/newroot/work,xino=off,index=off,metacopy=off,redirect_dir=off overlay /newroot/root || fail "cannot mount the overlay"
R=/newroot/root
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
# Sized like a worker node's scratch disk: the pilot wants 1 GB free in the job dir (1098 otherwise);
# tmpfs only takes what is written.
mount -t tmpfs -o mode=1777,size=4g tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
# cgroup v2 only (the kernel runs with cgroup_no_v1=all), as systemd mounts it on EL9.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $R/sys/fs/cgroup || fail "cannot mount cgroup2"
mkdir -p $R/vm-results
mount --bind /results $R/vm-results
hostname panda-vm
# Loopback only (the tests' stub listens on 127.0.0.1); there is no other interface.
ip link set lo up || fail "cannot bring up lo"
read -r up _ < /proc/uptime
echo "ready_up_sec=$up" >> /results/boot.txt
echo "vm-init: ready after ${up}s" > /dev/console
chroot $R /bin/sh /vm-results/job.sh > /results/output 2>&1
echo $? > /results/rc.tmp
read -r up _ < /proc/uptime
echo "done_up_sec=$up" >> /results/boot.txt
mv /results/rc.tmp /results/rc
sync
umount $R/vm-results 2>/dev/null
umount /results 2>/dev/null
reboot -f
