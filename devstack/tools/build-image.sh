#!/bin/bash
# Build nova-lite's tiny bootable guest image from Debian packages only.
#
# Usage: build-image.sh [OUTPUT]      (default /var/lib/nova-lite/nova-lite-tiny.img)
#
# The output is a QCOW2 disk image (upload it with disk_format=qcow2) holding
# one FAT partition with SYSLINUX, the host's Debian kernel and a busybox
# initramfs. The guest runs entirely from the initramfs; its /init:
#   - prints "nova-lite guest <hostname> booted" on the serial console (ttyS0),
#     the hostname coming from the config drive when there is one;
#   - mounts the config drive (label config-2, iso9660 or vfat) and prints
#     "config-drive: <name>" and "user-data: <first line of user_data>";
#   - runs udhcpc on eth0 (time-boxed), and powers off on an ACPI power button
#     press (busybox acpid), so a graceful shutdown works;
#   - runs user_data as a shell script in the background when it starts with
#     "#!" (as cirros does), its output on the serial console;
#   - then idles forever.
#
# Runs as root, installs missing packages with apt-get, and is idempotent: the
# image is rebuilt only when this script, the kernel or busybox changed. The
# last line printed is the image's path.
set -euo pipefail

OUTPUT=${1:-/var/lib/nova-lite/nova-lite-tiny.img}
DISK_MB=32
PART_START=2048                      # sectors: the partition starts at 1 MiB
MODULES="virtio_pci virtio_blk virtio_net isofs vfat nls_cp437 nls_iso8859_1 button evdev"

log() { echo "build-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

need_packages() {
    local missing=() pair
    for pair in busybox-static:/bin/busybox syslinux:/usr/bin/syslinux \
                syslinux-common:/usr/lib/syslinux/mbr/mbr.bin mtools:/usr/bin/mcopy \
                dosfstools:/sbin/mkfs.fat fdisk:/sbin/sfdisk cpio:/usr/bin/cpio \
                qemu-utils:/usr/bin/qemu-img kmod:/sbin/modprobe; do
        [ -e "${pair#*:}" ] || missing+=("${pair%%:*}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}" >&2
    fi
}

# The newest kernel in /boot whose modules are installed.
find_kernel() {
    local image version
    for image in $(ls /boot/vmlinuz-* 2>/dev/null | sort -rV); do
        version=${image#/boot/vmlinuz-}
        if [ -e "/lib/modules/$version/modules.dep" ]; then
            echo "$version"
            return 0
        fi
    done
    return 1
}

need_packages
if ! KVER=$(find_kernel); then
    log "installing linux-image-amd64 (for a kernel)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        linux-image-amd64 >&2
    KVER=$(find_kernel) || die "no kernel with modules in /boot after installing linux-image-amd64"
fi

STAMP="${OUTPUT}.stamp"
FINGERPRINT=$( { sha256sum "$0" "/boot/vmlinuz-$KVER" /bin/busybox; echo "$MODULES"; } \
               | sha256sum | cut -d' ' -f1)
if [ -s "$OUTPUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$FINGERPRINT" ]; then
    log "up to date (kernel $KVER)"
    echo "$OUTPUT"
    exit 0
fi

WORK=$(mktemp -d /tmp/nova-lite-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/initramfs"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,var/log,var/run,mnt/config,etc/acpi/PWRF,lib/modules}
cp /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"

# Kernel modules the guest needs, in load order (dependencies first).
for module in $MODULES; do
    modprobe -S "$KVER" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
    cp "$path" "$ROOT/lib/modules/"
    basename "$path" >> "$ROOT/etc/modules.order"
done

cat > "$ROOT/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc hook: configure the interface from the lease.
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        : > /etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
        echo "network: $interface $ip/${mask:-24}" > /dev/console
        ;;
esac
exit 0
EOF

# busybox acpid runs this on a power button press (libvirt's ACPI shutdown).
cat > "$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "nova-lite guest: ACPI power button, powering off" > /dev/console
sync
poweroff -f
EOF

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# nova-lite tiny guest: runs from the initramfs.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
while read -r module; do insmod "/lib/modules/$module" 2>/dev/null; done < /etc/modules.order
acpid -c /etc/acpi       # before the banner: a power button press is never missed

# The config drive: a disk labelled config-2 (devices appear asynchronously).
config=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    config=$(findfs LABEL=config-2 2>/dev/null) && break
    sleep 0.2
done
meta=/mnt/config/openstack/latest/meta_data.json
# meta_data.json is written with one top-level key per line (indent 2).
field() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$meta" | head -n 1; }
if [ -n "$config" ] && { mount -r -t iso9660 "$config" /mnt/config 2>/dev/null ||
                         mount -r -t vfat "$config" /mnt/config 2>/dev/null; }; then
    name=$(field hostname)
    [ -n "$name" ] && hostname "$name"
fi
[ "$(hostname)" = "(none)" ] || [ -z "$(hostname)" ] && hostname nova-lite
echo "nova-lite guest $(hostname) booted"
if [ -f "$meta" ]; then
    echo "config-drive: $(field name)"
    user_data=/mnt/config/openstack/latest/user_data
    [ -f "$user_data" ] && echo "user-data: $(head -n 1 "$user_data")"
else
    echo "config-drive: none"
fi

ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
    udhcpc -i eth0 -s /etc/udhcpc.script -n -q -t 3 -T 2 >/dev/null 2>&1 ||
        echo "network: eth0 got no DHCP lease"
fi
echo "nova-lite guest ready"
if [ -f "$meta" ] && [ "$(head -c 2 "$user_data" 2>/dev/null)" = "#!" ]; then
    sh "$user_data" &
fi
while :; do sleep 3600; done
EOF
chmod 0755 "$ROOT/init" "$ROOT/etc/udhcpc.script" "$ROOT/etc/acpi/PWRF/00000080"

BOOT="$WORK/boot"
mkdir "$BOOT"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) | gzip -9 > "$BOOT/initrd.gz"
cp "/boot/vmlinuz-$KVER" "$BOOT/vmlinuz"
cat > "$BOOT/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT nova-lite
PROMPT 0
TIMEOUT 0
LABEL nova-lite
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0 quiet
EOF

# A FAT partition built as its own file (no loop device, no mount), made
# bootable with SYSLINUX through mtools, then placed after an MBR.
PART="$WORK/part.img"
DISK="$WORK/disk.raw"
part_sectors=$(( DISK_MB * 2048 - PART_START ))
truncate -s $(( part_sectors * 512 )) "$PART"
mkfs.fat -F 16 -n NOVALITE -h "$PART_START" "$PART" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i "$PART" "$BOOT/vmlinuz" "$BOOT/initrd.gz" "$BOOT/syslinux.cfg" ::/
syslinux --install "$PART"
truncate -s "${DISK_MB}M" "$DISK"
echo "start=$PART_START, type=6, bootable" | sfdisk --quiet "$DISK" >/dev/null
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$DISK" conv=notrunc bs=440 count=1 status=none
dd if="$PART" of="$DISK" conv=notrunc bs=512 seek="$PART_START" status=none

mkdir -p "$(dirname "$OUTPUT")"
qemu-img convert -f raw -O qcow2 -c "$DISK" "$OUTPUT.part"
mv -f "$OUTPUT.part" "$OUTPUT"
echo "$FINGERPRINT" > "$STAMP"
log "built from kernel $KVER ($(du -k "$OUTPUT" | cut -f1) KiB)"
echo "$OUTPUT"
