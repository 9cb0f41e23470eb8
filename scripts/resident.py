#!/usr/bin/env python3
"""resident.py - which pages of a process are resident when it exits.

Runs PROGRAM [ARGS] (default: a program that mallocs and frees once, built
here) with LIB preloaded (none: the C library's malloc), stops it at exit
after the libraries' destructors ran (a small preloaded library whose
destructor raises SIGSTOP), and prints, for every mapping, its size and
the KiB resident (the present bits of /proc/PID/pagemap), then the total.
--norand runs it with address-space randomisation off (setarch -R), so that
two libraries can be compared page for page; --pages NAME draws the pages
of the mappings whose path contains NAME ('#' resident).  This is how
docs/performance.md, "Fixed memory of a process", accounts for every page.

usage: scripts/resident.py [--lib LIB] [--norand] [--pages NAME]... [-- PROGRAM ARGS...]
"""
import os
import signal
import struct
import subprocess
import sys
import tempfile

STOP_C = r"""
#include <signal.h>
#include <stdlib.h>
__attribute__((destructor)) static void stop_at_exit(void) {
  if (getenv("RESIDENT_STOP")) raise(SIGSTOP);
}
"""
ONCE_C = r"""
#include <stdlib.h>
#include <string.h>
int main(void) {
  char *volatile p = malloc(100);
  strcpy(p, "x");
  free(p);
  return 0;
}
"""


def build(tmp):
    for name, src, extra in (("stop.so", STOP_C, ["-shared", "-fPIC"]), ("once", ONCE_C, [])):
        c = os.path.join(tmp, name + ".c")
        with open(c, "w") as f:
            f.write(src)
        subprocess.run(["cc", "-O2", *extra, c, "-o", os.path.join(tmp, name)], check=True)


def main():
    args = sys.argv[1:]
    lib, norand, pages = None, False, []
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--lib":
            lib = os.path.abspath(args.pop(0))
        elif a == "--norand":
            norand = True
        elif a == "--pages":
            pages.append(args.pop(0))
        elif a == "--":
            break
        else:
            sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        build(tmp)
        prog = args or [os.path.join(tmp, "once")]
        env = dict(os.environ, RESIDENT_STOP="1")
        env["LD_PRELOAD"] = (lib + ":" if lib else "") + os.path.join(tmp, "stop.so")
        if norand:
            prog = ["setarch", os.uname().machine, "-R"] + prog
        pid = os.fork()
        if pid == 0:
            null = os.open("/dev/null", os.O_WRONLY)
            os.dup2(null, 1)
            os.execvpe(prog[0], prog, env)
        _, status = os.waitpid(pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            sys.exit("resident: the program ended before it stopped")
        total = 0
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pm:
            for line in maps:
                f = line.split()
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                if lo >= 0xFFFFFFFFFF600000:
                    continue
                name = f[5] if len(f) > 5 else "[anon]"
                n = (hi - lo) // 4096
                pm.seek(lo // 4096 * 8)
                data = pm.read(n * 8)
                bits = [(struct.unpack_from("<Q", data, i * 8)[0] >> 63) & 1 for i in range(n)]
                kb = sum(bits) * 4
                total += kb
                print(f"{lo:14x} {f[1]} off {int(f[2], 16):8x} {n * 4:7}K resident {kb:5}K {name}")
                if any(p in name for p in pages):
                    s = "".join("#" if b else "." for b in bits)
                    for i in range(0, len(s), 64):
                        print(f"{'':16}{int(f[2], 16) + i * 4096:8x} {s[i:i + 64]}")
        print(f"total {total} KiB")
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)


main()
