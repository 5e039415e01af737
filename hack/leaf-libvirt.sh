#!/usr/bin/env bash
# Host prerequisites of the libvirt leaf (providers/libvirt): idempotent and cached.
#
#   hack/leaf-libvirt.sh            install/build what is missing (packages, libvirt-qemu user, qemu.conf,
#                                   test guest, local OCI registry); prints KEY=value lines for the tests
#   hack/leaf-libvirt.sh --print    only print the KEY=value lines (exit 1 if something is missing)
#
# Steps (cold cost measured on 2 loaded cores, see docs/libvirt-provider.md):
#   packages  apt-get of QEMU (TCG), libvirtd without libvirt-daemon-system (it would replace init)
#   host      libvirt-qemu user/group and /etc/libvirt/qemu.conf (root, no security driver, no virtlogd)
#   guest     Debian kernel + busybox initramfs whose init reports what it sees on ttyS0 (offline build)
#   registry  github.com/distribution/distribution/v3 cmd/registry, built in a tool module outside the repo
#
# Cache root: $IRONFED_CACHE_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/ironfed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${IRONFED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ironfed}
guest_dir=$cache/libvirt-guest/$LIBVIRT_GUEST_VERSION
registry_dir=$cache/registry/$DISTRIBUTION_VERSION
packages=(qemu-system-x86 qemu-utils qemu-block-extra libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients cpio)

log() { printf '[leaf-libvirt %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

print_env() {
  echo "IRONFED_LIBVIRT_GUEST=$guest_dir"
  echo "IRONFED_REGISTRY_BIN=$registry_dir/registry"
}

packages_ok() {
  command -v libvirtd >/dev/null && command -v qemu-system-x86_64 >/dev/null && command -v qemu-img >/dev/null &&
    [[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ]]
}
host_ok() { getent passwd libvirt-qemu >/dev/null && grep -q '^# ironfed leaf-libvirt' /etc/libvirt/qemu.conf 2>/dev/null; }
guest_ok() { [[ -s $guest_dir/vmlinuz && -s $guest_dir/initramfs.gz ]]; }
registry_ok() { [[ -x $registry_dir/registry ]]; }

if [[ ${1:-} == --print ]]; then
  ok=true
  packages_ok || { log "libvirt/QEMU packages missing: run hack/leaf-libvirt.sh as root"; ok=false; }
  host_ok || { log "libvirt-qemu user or /etc/libvirt/qemu.conf missing: run hack/leaf-libvirt.sh as root"; ok=false; }
  guest_ok || { log "test guest missing under $guest_dir: run hack/leaf-libvirt.sh"; ok=false; }
  registry_ok || { log "registry binary missing under $registry_dir: run hack/leaf-libvirt.sh"; ok=false; }
  $ok || exit 1
  print_env
  exit 0
fi

need_root() {
  [[ $(id -u) == 0 ]] && return 0
  log "$1 needs root. As root run: hack/leaf-libvirt.sh (or: apt-get install --no-install-recommends ${packages[*]};"
  log "  never libvirt-daemon-system, it replaces init)"
  exit 1
}

step_packages() {
  packages_ok && { log "packages present"; return; }
  need_root "installing ${packages[*]}"
  local t=$SECONDS
  log "apt-get install ${packages[*]} (cold: ~2 min)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  # --no-install-recommends keeps libvirt-daemon-system (and with it systemd-sysv) out.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >&2
  packages_ok || { log "packages installed but libvirtd/qemu still missing"; exit 1; }
  log "packages installed in $((SECONDS - t))s"
}

step_host() {
  host_ok && { log "libvirt-qemu user and qemu.conf present"; return; }
  need_root "creating the libvirt-qemu user and /etc/libvirt/qemu.conf"
  # Without libvirt-daemon-system there is no libvirt-qemu user and the QEMU driver refuses to load.
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -M -s /usr/sbin/nologin libvirt-qemu
  mkdir -p /etc/libvirt
  [[ -f /etc/libvirt/qemu.conf && ! -f /etc/libvirt/qemu.conf.orig ]] && cp /etc/libvirt/qemu.conf /etc/libvirt/qemu.conf.orig
  # qemu.conf has a fixed path. QEMU runs as root without a security driver; stdio_handler=file avoids virtlogd.
  cat >/etc/libvirt/qemu.conf <<'EOF'
# ironfed leaf-libvirt (hack/leaf-libvirt.sh); the original is in qemu.conf.orig
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
EOF
  log "created libvirt-qemu user and /etc/libvirt/qemu.conf"
}

# The guest's init: one "IRONFED-GUEST <fact>" line per fact on ttyS0, then a shell on ttyS0.
write_init() {
  cat >"$1" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /etc
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover \
  net_failover virtio_net qemu_fw_cfg button evdev; do
  insmod /lib/modules/$m.ko 2>/dev/null
done
say() { echo "IRONFED-GUEST $*" >/dev/ttyS0; }
say "boot reached kernel=$(uname -r)"
ign=/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw
if [ -r $ign ]; then
  say "ignition sha256=$(sha256sum <$ign | cut -d' ' -f1) bytes=$(wc -c <$ign)"
else
  say "ignition none"
fi
# ACPI power button -> poweroff (the button driver's input device; any event from it).
for d in /sys/class/input/event*; do
  if [ "$(cat $d/device/name 2>/dev/null)" = "Power Button" ]; then
    ( head -c 1 /dev/input/${d##*/} >/dev/null; say "power button"; sync; poweroff -f ) &
  fi
done
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  say "eth0 mac=$(cat /sys/class/net/eth0/address)"
  cat >/tmp/udhcpc.sh <<'EOS'
#!/bin/sh
[ "$1" = bound ] || exit 0
ifconfig $interface $ip netmask $subnet
route add default gw $router
EOS
  chmod +x /tmp/udhcpc.sh
  if udhcpc -i eth0 -n -q -t 10 -s /tmp/udhcpc.sh >/dev/null 2>&1; then
    say "eth0 ip=$(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9.\/]*\).*/\1/p')"
    probe=$(sed -n 's/.*ironfed.probe=\([^ ]*\).*/\1/p' /proc/cmdline)
    if [ -n "$probe" ]; then
      # host:port/path; busybox-static's wget segfaults (static glibc), nc works.
      host=${probe%%:*}; rest=${probe#*:}; port=${rest%%/*}; path=/${rest#*/}
      say "http $(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" | nc -w 20 "$host" "$port" 2>&1 | tail -n 1 | head -c 200)"
    fi
  else
    say "eth0 dhcp failed"
  fi
else
  say "eth0 missing"
fi
# A disk whose first bytes are "IRONFED-MARKER-<token>" (written by a test through librbd before boot):
# report the marker, then answer once at byte 4096 with "IRONFED-GUEST-WROTE-<token>" for the test to
# read back from the storage side.
marker() {
  m=$(head -c 64 /dev/$1 2>/dev/null | tr -cd 'A-Za-z0-9_.:-')
  case $m in IRONFED-MARKER-*) ;; *) return ;; esac
  say "disk $1 marker=$m"
  [ -e /tmp/wrote-$1 ] && return
  w=IRONFED-GUEST-WROTE-${m#IRONFED-MARKER-}
  printf '%s' "$w" | dd of=/dev/$1 bs=512 seek=8 2>/dev/null
  sync
  touch /tmp/wrote-$1
  say "disk $1 wrote=$w"
}
# Disks: report each vd* with serial and size; report changes (hot plug, resize, unplug) by polling.
( seen=""
  while :; do
    now=""
    for b in /sys/block/vd*; do
      [ -e "$b" ] || continue
      n=${b##*/}; s=$(cat $b/size); now="$now $n:$s"
      case " $seen " in *" $n:$s "*) ;; *) say "disk $n serial=$(cat $b/serial 2>/dev/null) sectors=$s"; marker $n ;; esac
    done
    for e in $seen; do
      case " $now " in *" ${e%%:*}:"*) ;; *) say "disk-gone ${e%%:*}";; esac
    done
    seen=$now
    sleep 2
  done ) &
say "ready"
while :; do setsid cttyhack sh -i; done
EOF
  chmod +x "$1"
}

step_guest() {
  guest_ok && { log "test guest present in $guest_dir"; return; }
  local t=$SECONDS work
  work=$(mktemp -d)
  chmod 755 "$work" # apt-get download drops to the _apt user
  trap 'rm -rf "$work"' RETURN
  log "building the test guest (Debian kernel + busybox initramfs) in $guest_dir"
  # apt-get download needs no root; it needs current package lists (fresh machines run apt-get update).
  if ! (cd "$work" && apt-get download -qq "$LIBVIRT_GUEST_KERNEL" busybox-static >&2); then
    need_root "apt-get update (package lists for apt-get download)"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    if ! (cd "$work" && apt-get download -qq "$LIBVIRT_GUEST_KERNEL" busybox-static >&2); then
      # Debian drops an old kernel ABI package from its mirrors once a newer one ships: fall back
      # to the kernel the metapackage points at today (the guest needs no particular version).
      local current
      current=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
      [[ -n $current ]] || { log "neither $LIBVIRT_GUEST_KERNEL nor a current linux-image-amd64 kernel can be downloaded"; exit 1; }
      log "$LIBVIRT_GUEST_KERNEL is no longer on the mirror; using $current"
      rm -f "$work"/*.deb
      (cd "$work" && apt-get download -qq "$current" busybox-static >&2)
    fi
  fi
  mkdir -p "$work/kernel" "$work/bb" "$work/root"/{bin,lib/modules}
  dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
  local kver mods
  kver=$(ls "$work/kernel/lib/modules")
  mods=$work/kernel/lib/modules/$kver/kernel
  cp "$work/bb/bin/busybox" "$work/root/bin/busybox"
  local m f
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover \
    net_failover virtio_net qemu_fw_cfg button evdev; do
    f=$(find "$mods" -name "$m.ko*" | head -1)
    [[ -n $f ]] || { log "module $m not found in $LIBVIRT_GUEST_KERNEL"; exit 1; }
    case $f in
      *.ko.xz) xz -dc "$f" >"$work/root/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$f" >"$work/root/lib/modules/$m.ko" ;;
      *) cp "$f" "$work/root/lib/modules/$m.ko" ;;
    esac
  done
  write_init "$work/root/init"
  ln -s busybox "$work/root/bin/sh"
  mkdir -p "$guest_dir"
  (cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$guest_dir/initramfs.gz.tmp"
  cp "$work/kernel/boot/vmlinuz-$kver" "$guest_dir/vmlinuz.tmp"
  mv "$guest_dir/initramfs.gz.tmp" "$guest_dir/initramfs.gz"
  mv "$guest_dir/vmlinuz.tmp" "$guest_dir/vmlinuz"
  echo "console=ttyS0 panic=-1 quiet" >"$guest_dir/cmdline"
  log "test guest built in $((SECONDS - t))s (kernel $kver)"
}

step_registry() {
  registry_ok && { log "registry $DISTRIBUTION_VERSION present"; return; }
  local src=$cache/src/distribution-$DISTRIBUTION_VERSION t=$SECONDS
  mkdir -p "$src" "$registry_dir"
  if [[ ! -f $src/go.sum ]]; then
    printf 'module ironfed.dev/tools/registry\n\ngo %s\n\nrequire github.com/distribution/distribution/v3 %s\n' \
      "$GO_VERSION" "$DISTRIBUTION_VERSION" >"$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/distribution/distribution/v3/cmd/registry"\n' >"$src/tools.go"
    (cd "$src" && go mod tidy)
  fi
  log "building registry $DISTRIBUTION_VERSION (cold: several minutes)"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$registry_dir/registry.tmp" github.com/distribution/distribution/v3/cmd/registry)
  mv "$registry_dir/registry.tmp" "$registry_dir/registry"
  log "registry built in $((SECONDS - t))s"
}

case ${1:-all} in
  all) step_packages; step_host; step_guest; step_registry ;;
  packages | host | guest | registry) "step_$1" ;;
  *) log "unknown step $1"; exit 2 ;;
esac
print_env
