#!/bin/sh
# npm run check:native
# Builds the native core with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs the test files that exercise it (workers, faults, big files,
# errors) against that build. Any invalid access, overflow or undefined
# behaviour in native/ stops the run with a report.
set -eu
cd "$(dirname "$0")/.."
out=build-asan
mkdir -p "$out"
node_include="$(dirname "$(dirname "$(command -v node)")")/include/node"
[ -f "$node_include/node_api.h" ] || node_include=/usr/include/node
gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -shared -fPIC -Wall -Wextra -Wno-unused-parameter -DNAPI_VERSION=8 -D_GNU_SOURCE \
  -I"$node_include" native/*.c native/platform/linux.c -o "$out/ranged_mmap.node"
libasan="$(gcc -print-file-name=libasan.so)"
libubsan="$(gcc -print-file-name=libubsan.so)"
npm run build:ts >/dev/null
npm run build:test >/dev/null
# mmapio-errors is left out: it checks that a low RLIMIT_MEMLOCK makes mlock
# fail, and ASan's mlock interceptor turns mlock into a no-op that succeeds.
# Node itself is not built with ASan: preload the runtime, leave leak
# checking off (V8 keeps memory until exit), and let SIGBUS/SIGSEGV reach
# our fault guard and V8 instead of ASan's own handlers.
RANGED_MMAP_NATIVE_BINDING="$PWD/$out/ranged_mmap.node" \
LD_PRELOAD="$libasan $libubsan" \
ASAN_OPTIONS=detect_leaks=0:handle_sigbus=0:handle_segv=0:allow_user_segv_handler=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  node scripts/run-tests.mjs adversarial api-ergonomics smoke api errors properties concurrency lifecycle faults big-file-boundaries seed-examples ownership forgery native-checks sync-errors allocation-batches batch-copies allocate-many atomic- vmap- mmapio- '!mmapio-errors'
echo "native core clean under AddressSanitizer + UBSan"
