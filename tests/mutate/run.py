#!/usr/bin/env python3
"""Mutation testing: breaks the allocator on purpose, one small change at a
time, and checks that the tests notice (tests/mutate/README.md).

    tests/mutate/run.py [--quick] [--list FILE] [NAME...]

Each mutation of the list (tests/mutate/mutations.txt) is applied to a
scratch copy of the tree (build/mutate/tree), the test programs it names are
rebuilt there and run; the mutation is caught when at least one of them
fails (exits non-zero, dies of a signal or runs past its time limit).  Before
any mutation, every named command must pass on the unmutated copy.  A
mutation whose text is not found exactly once in its file is a failure of
the list, not a survivor: the list is kept true to the code.

Ends with "N passed, N failed": a caught mutation passes, a survivor (or a
mutation that no longer applies) fails.
"""
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A command counts as hung when it runs HUNG_FACTOR times as long as it took
# on the unmutated copy, and at least HUNG_MIN seconds (at most HUNG_MAX):
# a mutant that loops for ever is told in seconds, not in a fixed two minutes.
HUNG_FACTOR = 10
HUNG_MIN = 20
HUNG_MAX = 120
# Mutations run this many at a time, each worker in a copy of its own: the
# tests of one mostly wait on one CPU while the other builds.
WORKERS = int(os.environ.get("MUTATE_WORKERS", "2"))


def parse(path):
    """Reads the mutation list: blocks of "key: value" lines separated by
    blank lines; '#' starts a comment line.  Keys: name, file, find,
    replace (may be empty), tests (commands separated by ';'), quick (yes:
    part of the quick subset), why (what the mutation breaks)."""
    muts, cur = [], {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    muts.append(cur)
                    cur = {}
                continue
            key, sep, value = line.partition(":")
            if not sep:
                sys.exit(f"mutate: {path}: not a 'key: value' line: {line}")
            value = value[1:] if value.startswith(" ") else value
            # \n in find/replace stands for a line break.
            cur[key.strip()] = value.replace("\\n", "\n")
    if cur:
        muts.append(cur)
    for m in muts:
        for key in ("name", "file", "find", "tests"):
            if key not in m:
                sys.exit(f"mutate: mutation {m.get('name', '?')} has no '{key}'")
        m.setdefault("replace", "")
    return muts


def run(cmd, cwd, env=None, timeout=None):
    """Runs cmd in a shell of its own session; on timeout the whole group is
    killed (a script's children too, not only the shell) and
    TimeoutExpired raised."""
    with subprocess.Popen(cmd, cwd=cwd, env=env, shell=True, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as p:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
        return subprocess.CompletedProcess(cmd, p.returncode, out)


def commands(m):
    return [c.strip() for c in m["tests"].split(";") if c.strip()]


# Helper programs a test program runs, which the Makefile's `tests` target
# builds beside it: named in `tests:` or not, they are built with it (a full
# test_glibc run compares with glibc_probe, and would fail without it).
HELPERS = {"build/tests/test_glibc": ["build/tests/glibc_probe"]}


def targets(cmds):
    """The build/tests/... programs the commands run, and the helpers they
    need, for make."""
    out = []
    for c in cmds:
        for word in shlex.split(c):
            if word.startswith("build/tests/"):
                for prog in [word] + HELPERS.get(word, []):
                    if prog not in out:
                        out.append(prog)
    return out


def build(tree, progs):
    # tools: test_map draws snapshots with build/hawk.
    r = run("make -s -j2 lib tools " + " ".join(progs), tree)
    return r.returncode == 0, r.stdout.decode(errors="replace")


def passes(tree, cmd, timeout=HUNG_MAX, out=None):
    """0: passed, 1: failed, 2: hung.  out, a list, gets the command's
    output."""
    env = dict(os.environ)
    env.pop("HAWKALLOC_POLICY", None)
    try:
        r = run(cmd, tree, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 2
    if out is not None:
        out.append(r.stdout.decode(errors="replace"))
    return 0 if r.returncode == 0 else 1


def hung_limit(seconds):
    """How long a command that took seconds unmutated may run mutated."""
    return min(HUNG_MAX, max(HUNG_MIN, HUNG_FACTOR * seconds))


def copy_tracked(dst_root):
    """The tracked files as they are now (edits included), into dst_root."""
    shutil.rmtree(dst_root, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE).stdout.decode().split("\0")
    for rel in files:
        if not rel or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        dst = os.path.join(dst_root, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dst)


def try_mutation(m, tree, limits):
    """Applies m in tree, rebuilds, runs its commands, restores the file.
    Returns (caught, line to print, build log or None)."""
    path = os.path.join(tree, m["file"])
    with open(path, encoding="utf-8") as f:
        original = f.read()
    if original.count(m["find"]) != 1:
        return (False, f"STALE    {m['name']}: its text is found {original.count(m['find'])} "
                f"times in {m['file']}, not once", None)
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(m["find"], m["replace"]))
    try:
        t0 = time.time()
        cmds = commands(m)
        ok, log = build(tree, targets(cmds))
        if not ok:
            # A mutation meant to compile must not be caught by the compiler.
            return (False, f"BADMUT   {m['name']}: does not build; make it a mutation that "
                    "compiles", log[-2000:])
        verdict = None
        for c in cmds:
            r = passes(tree, c, limits[c])
            if r != 0:
                verdict = f"caught by {c}" + (f" (hung: over {limits[c]:.0f} s)" if r == 2 else "")
                break
        took = time.time() - t0
        if verdict:
            return (True, f"caught   {m['name']}  [{verdict}, {took:.0f} s]", None)
        return (False, f"SURVIVED {m['name']}: {m.get('why', '')}  [{took:.0f} s]", None)
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(original)
        # Older than the objects built from the mutated text: make rebuilds.
        now = time.time()
        os.utime(path, (now, now))


def main():
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it goes
    args = sys.argv[1:]
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    lst = os.path.join(ROOT, "tests/mutate/mutations.txt")
    if "--list" in args:
        i = args.index("--list")
        lst = args[i + 1]
        del args[i:i + 2]
    muts = parse(lst)
    if args:
        muts = [m for m in muts if m["name"] in args]
    elif quick:
        muts = [m for m in muts if m.get("quick") == "yes"]
    if not muts:
        print("mutate: no mutation selected")
        print("0 passed, 1 failed")
        return 1

    # The scratch copy, built once; the other workers' copies are copies of
    # it, build included (timestamps kept: nothing is rebuilt).
    tree = os.path.join(ROOT, "build/mutate/tree")
    copy_tracked(tree)
    all_cmds = []
    for m in muts:
        for c in commands(m):
            if c not in all_cmds:
                all_cmds.append(c)
    ok, log = build(tree, targets(all_cmds))
    if not ok:
        print(log)
        print("mutate: the unmutated copy does not build")
        print("0 passed, 1 failed")
        return 1
    limits, baseline_bad = {}, []
    for c in all_cmds:
        t0 = time.time()
        out = []
        r = passes(tree, c, out=out)
        if r != 0:
            # What failed, for a log read after the fact (CI's).
            lines = (out[0] if out else "").splitlines()
            bad, inside = [], False  # FAIL lines and their indented details
            for ln in lines:
                inside = ln.startswith("FAIL") or (inside and ln.startswith(" "))
                if inside:
                    bad.append(ln)
            bad = bad or lines[-10:]
            baseline_bad.append((c, "hung" if r == 2 else "\n".join(bad[:20])))
        limits[c] = hung_limit(time.time() - t0)
    for c, why in baseline_bad:
        print(f"BASELINE FAIL  {c}  (fails without any mutation)")
        for ln in why.splitlines():
            print(f"    {ln[:300]}")
    if baseline_bad:
        print(f"0 passed, {len(baseline_bad)} failed")
        return 1
    workers = max(1, min(WORKERS, len(muts)))
    trees = [tree]
    for k in range(1, workers):
        other = os.path.join(ROOT, f"build/mutate/tree{k}")
        shutil.rmtree(other, ignore_errors=True)
        subprocess.run(["cp", "-a", tree, other], check=True)
        trees.append(other)

    todo = queue.Queue()
    for m in muts:
        todo.put(m)
    out = threading.Lock()
    counts = {"caught": 0, "survived": 0}
    start = time.time()

    def worker(t):
        while True:
            try:
                m = todo.get_nowait()
            except queue.Empty:
                return
            caught, line, log = try_mutation(m, t, limits)
            with out:
                print(line)
                if log:
                    print(log)
                counts["caught" if caught else "survived"] += 1

    threads = [threading.Thread(target=worker, args=(t,)) for t in trees]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    caught, survived = counts["caught"], counts["survived"]
    print(f"mutate: {caught} of {caught + survived} mutations caught "
          f"in {time.time() - start:.0f} s ({workers} at a time)")
    print(f"{caught} passed, {survived} failed")
    return 0 if survived == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
