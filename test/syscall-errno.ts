// A launcher that makes chosen system calls fail with a chosen errno in the
// process it starts (and its threads), through a seccomp filter
// (SECCOMP_RET_ERRNO). The kernel itself returns the error, so the library
// sees exactly what a failing disk or file system would give it: this is
// how the tests make msync, fsync and sync_file_range fail without a
// failing device. No root is needed (PR_SET_NO_NEW_PRIVS).
//
// The launcher is compiled with `cc` (the compiler node-gyp uses for the
// addon). A missing compiler fails the test that asks for it: it is never
// skipped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LAUNCHER_C = String.raw`
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* syscall-errno ERRNO NAME[,NAME...] PROGRAM [ARGS...] */
static long number_of(const char *name) {
  static const struct { const char *name; long nr; } known[] = {
    {"msync", SYS_msync}, {"fsync", SYS_fsync}, {"fdatasync", SYS_fdatasync},
    {"sync_file_range", SYS_sync_file_range}, {"madvise", SYS_madvise},
    {"inotify_add_watch", SYS_inotify_add_watch}, {"fallocate", SYS_fallocate},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].name, name) == 0) return known[i].nr;
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: syscall-errno ERRNO NAMES PROGRAM [ARGS...]\n"); return 64; }
  int err = atoi(argv[1]);
  struct sock_filter f[64];
  unsigned n = 0;
  /* Only x86-64 system calls are matched; anything else runs unchanged. */
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (char *name = strtok(argv[2], ","); name != NULL && n < 60; name = strtok(NULL, ",")) {
    long nr = number_of(name);
    if (nr < 0) { fprintf(stderr, "syscall-errno: unknown system call %s\n", name); return 64; }
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
  }
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return 70; }
  /* TSYNC is not needed: the filter is installed before exec, so every
   * thread of the new program inherits it. */
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) { perror("PR_SET_SECCOMP"); return 71; }
  execvp(argv[3], argv + 3);
  perror("execvp");
  return 72;
}
`;

let built: string | undefined;

/** The path of the compiled launcher (built once per test process). */
export function syscallErrnoLauncher(): string {
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), 'ranged-mmap-seccomp-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'syscall-errno.c'), LAUNCHER_C);
  const out = join(dir, 'syscall-errno');
  try {
    execFileSync('cc', ['-O1', '-o', out, join(dir, 'syscall-errno.c')], { stdio: 'pipe' });
  } catch (error) {
    assert.fail(`this test compiles a small seccomp launcher with \`cc\` (the compiler node-gyp uses for the addon); it could not: ${String(error)}`);
  }
  built = out;
  return out;
}

/** Arguments for spawnSync(launcher, args): run `command` with `syscalls` failing with `errno` (a positive number). */
export function failingSyscalls(errno: number, syscalls: readonly string[], command: string, args: readonly string[]): string[] {
  return [String(errno), syscalls.join(','), command, ...args];
}
