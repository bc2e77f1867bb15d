#!/usr/bin/env bash
# Fetches a few AArch64 ELF files (Debian bookworm's libpython3.11 and libc6 for arm64) for the elf
# module's readelf oracle test, WITHOUT installing anything: a private apt configuration (own
# sources list, lists, cache and config parts under the cache folder; dpkg status /dev/null)
# downloads the packages with `apt-get download` (hash-checked against the signed index) and
# `dpkg -x` unpacks them into
#
#   ${SPYGLASS_CACHE:-$HOME/.cache/spyglass}/foreign-elf/arm64/
#
# Idempotent: does nothing when that folder is complete (marker .spyglass-provisioned). When the
# registry cannot be reached it says why on stderr and exits 0; the tests then skip with a reason.
set -euo pipefail
umask 022
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
cache=${SPYGLASS_CACHE:-$HOME/.cache/spyglass}/foreign-elf
root=$cache/arm64
[ -f "$root/.spyglass-provisioned" ] && exit 0
mirror=${SPYGLASS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=${SPYGLASS_APT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/apt.conf.d" "$apt/etc/preferences.d" "$apt/dl"
echo "deb [arch=arm64 signed-by=$keyring] $mirror bookworm main" >"$apt/sources.list"
cat >"$apt/apt.conf" <<CONF
Dir::State::Lists "$apt/lists";
Dir::State::status "/dev/null";
Dir::Cache "$apt/cache";
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::parts "$apt/etc/apt.conf.d";
Dir::Etc::preferencesparts "$apt/etc/preferences.d";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
fail() {
  echo "provision-foreign-elf: $*; the AArch64 ELF tests will be skipped" >&2
  exit 0
}
export APT_CONFIG=$apt/apt.conf
timeout 180 apt-get -qq update >/dev/null 2>&1 || fail "apt-get update of bookworm arm64 failed"
rm -f "$apt/dl"/*.deb
(cd "$apt/dl" && timeout 180 apt-get -qq download libpython3.11:arm64 libc6:arm64 >/dev/null 2>&1) \
  || fail "apt-get download of libpython3.11:arm64 libc6:arm64 failed"
tmp=$(mktemp -d "$cache/arm64.XXXXXX")
for deb in "$apt/dl"/*.deb; do
  dpkg -x "$deb" "$tmp"
done
touch "$tmp/.spyglass-provisioned"
rm -rf "$root"
mv "$tmp" "$root"
echo "provision-foreign-elf: AArch64 files in $root"
