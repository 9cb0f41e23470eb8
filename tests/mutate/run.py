#!/usr/bin/env python3
"""Mutation testing: breaks the allocator on purpose, one small change at a
time, and checks that the tests notice (tests/mutate/README.md).

    tests/mutate/run.py [--quick | --ci] [--list FILE] [NAME...]

Each mutation of the list (tests/mutate/mutations.txt) is applied to a
scratch copy of the tree (build/mutate/tree), the test programs it names are
rebuilt there and run; the mutation is caught when at least one of them
fails (exits non-zero, dies of a signal or runs past its time limit).  Before
any mutation, every named command must pass on the unmutated copy.  A
mutation whose text is not found exactly once in its file is a failure of
the list, not a survivor: the list is kept true to the code.

--ci runs CI's share (ci_share): every mutation on lines the commits of the
6 hours before HEAD's wrote or new in the list, and a third of the others, a
different third as commits land.

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
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A command counts as hung when it runs HUNG_FACTOR times as long as it took
# on the unmutated copy, and at least HUNG_MIN seconds (at most HUNG_MAX):
# a mutant that loops for ever is told in seconds, not in a fixed two minutes.
HUNG_FACTOR = 10
HUNG_MIN = 10
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


def kill_session(sid):
    """Kills every process of session sid: what a command left running in a
    process group of its own (hawk grade's grader, whose loop a mutation
    left unkilled, ran on at 100% of a CPU after a CI run, until killed)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "PID (NAME) STATE PPID PGRP SESSION ...": the name may hold spaces
        # and ')'; the last ')' ends it.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 3 and fields[3] == str(sid):
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def run(cmd, cwd, env=None, timeout=None):
    """Runs cmd in a shell of its own session; on timeout the whole group is
    killed (a script's children too, not only the shell) and
    TimeoutExpired raised.  Whatever the command left in its session is
    killed when it ends, either way."""
    with subprocess.Popen(cmd, cwd=cwd, env=env, shell=True, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as p:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            kill_session(p.pid)
            raise
        kill_session(p.pid)
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


def failure_lines(out):
    """The FAIL lines of a test's output and their indented details (the
    last ten lines when there are none), for a log read after the fact."""
    lines = out.splitlines()
    bad, inside = [], False
    for ln in lines:
        inside = ln.startswith("FAIL") or (inside and ln.startswith(" "))
        if inside:
            bad.append(ln)
    return "\n".join((bad or lines[-10:])[:20])


def each_in_a_tree(items, trees, fn):
    """Calls fn(item, tree) for every item, one thread a tree, each taking
    the next item when it is free."""
    todo = queue.Queue()
    for it in items:
        todo.put(it)

    def worker(t):
        while True:
            try:
                it = todo.get_nowait()
            except queue.Empty:
                return
            fn(it, t)

    threads = [threading.Thread(target=worker, args=(t,)) for t in trees]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def baseline(cmds, trees):
    """Runs every command once on the unmutated copies, one copy a worker.
    Returns (hang limit of each command, [(command, why it failed)], the
    seconds each took)."""
    limits, took, bad = {}, {}, []
    lock = threading.Lock()

    def one(c, t):
        t0 = time.time()
        out = []
        r = passes(t, c, out=out)
        with lock:
            took[c] = time.time() - t0
            limits[c] = hung_limit(took[c])
            if r != 0:
                bad.append((c, "hung" if r == 2 else failure_lines(out[0] if out else "")))

    each_in_a_tree(cmds, trees, one)
    return limits, bad, took


def sync_build(tree, pristine):
    """Puts tree/build back as pristine/build is (the unmutated build):
    every file that differs in size or time is copied back, every file the
    mutated build or its tests added is removed.  Faster than building the
    restored file again, and what a test builds of its own (tests/levels)
    starts from the unmutated build too."""
    src_root, dst_root = os.path.join(pristine, "build"), os.path.join(tree, "build")
    for dirpath, dirnames, filenames in os.walk(dst_root, topdown=False):
        rel = os.path.relpath(dirpath, dst_root)
        for name in filenames + dirnames:
            dst = os.path.join(dirpath, name)
            if not os.path.lexists(os.path.join(src_root, rel, name)):
                if os.path.isdir(dst) and not os.path.islink(dst):
                    shutil.rmtree(dst)
                else:
                    os.unlink(dst)
    for dirpath, dirnames, filenames in os.walk(src_root):
        rel = os.path.relpath(dirpath, src_root)
        os.makedirs(os.path.join(dst_root, rel), exist_ok=True)
        for name in filenames:
            src, dst = os.path.join(dirpath, name), os.path.join(dst_root, rel, name)
            if os.path.islink(src):
                if not os.path.islink(dst) or os.readlink(dst) != os.readlink(src):
                    if os.path.lexists(dst):
                        os.unlink(dst)
                    os.symlink(os.readlink(src), dst)
                continue
            a = os.stat(src)
            try:
                b = os.lstat(dst)
                same = b.st_size == a.st_size and b.st_mtime_ns == a.st_mtime_ns
            except FileNotFoundError:
                same = False
            if not same:
                if os.path.lexists(dst):
                    os.unlink(dst)
                shutil.copy2(src, dst)


def try_mutation(m, tree, pristine, limits):
    """Applies m in tree, rebuilds, runs its commands, restores the file
    (its time too) and the unmutated build.  Returns (caught, line to print,
    build log or None)."""
    path = os.path.join(tree, m["file"])
    with open(path, encoding="utf-8") as f:
        original = f.read()
    if original.count(m["find"]) != 1:
        return (False, f"STALE    {m['name']}: its text is found {original.count(m['find'])} "
                f"times in {m['file']}, not once", None)
    st = os.stat(path)
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
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        sync_build(tree, pristine)


# CI runs the mutations of what changed and this share of the others.
CI_PARTS = 3
LIST = "tests/mutate/mutations.txt"


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True,
                          stdout=subprocess.PIPE).stdout.decode()


def changed_lines(hours):
    """{path: set of line numbers} of the lines that the commits of the
    given hours before HEAD's wrote, as they are at HEAD (a deletion marks
    the line after it); None when the history is shorter."""
    head_time = int(git("log", "-1", "--format=%ct", "HEAD").strip())
    base = git("rev-list", "-1", f"--before={head_time - hours * 3600}", "HEAD").strip()
    if not base:
        return None
    out, path = {}, None
    for line in git("diff", "-U0", "--no-color", base, "HEAD").splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("@@ ") and path:
            new = line.split()[2][1:]  # +START[,COUNT]
            start, _, count = new.partition(",")
            start, count = int(start), int(count or "1")
            out.setdefault(path, set()).update(range(start, start + max(count, 1)))
    return out


def near_change(m, changed, listed):
    """Whether m's text lies on lines the latest commits wrote, or m itself
    is new in the list (its name's line among those written: listed, the
    line of each name in the list)."""
    if listed.get(m["name"]) in changed.get(LIST, ()):
        return True
    lines = changed.get(m["file"])
    if not lines:
        return False
    try:
        with open(os.path.join(ROOT, m["file"]), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return True
    at = text.find(m["find"])
    if at < 0:
        return True  # stale: let the run say so
    first = text.count("\n", 0, at) + 1
    return any(n in lines for n in range(first, first + m["find"].count("\n") + 1))


def ci_share(muts):
    """CI's mutations: those whose text lies on lines the commits of the 6
    hours before HEAD's wrote, or that those commits added to the list (the
    latest work), and, of the others, the
    part whose name's CRC-32 modulo CI_PARTS is the number of commits modulo
    CI_PARTS: each CI run checks a third of them, and the parts turn as
    commits land.  `make mutate` runs them all."""
    changed = changed_lines(6)
    if changed is None:
        return muts
    part = int(git("rev-list", "--count", "HEAD").strip()) % CI_PARTS
    listed = {}
    with open(os.path.join(ROOT, LIST), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.startswith("name:"):
                listed[line[5:].strip()] = number
    near = [m for m in muts if near_change(m, changed, listed)]
    rest = [m for m in muts if not near_change(m, changed, listed)
            and zlib.crc32(m["name"].encode()) % CI_PARTS == part]
    print(f"mutate: CI's share: {len(near)} on lines the last 6 hours' commits wrote or new, and part "
          f"{part} of {CI_PARTS} of the other {len(muts) - len(near)}: {len(rest)}")
    return near + rest


def main():
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it goes
    args = sys.argv[1:]
    quick = "--quick" in args
    ci = "--ci" in args
    args = [a for a in args if a not in ("--quick", "--ci")]
    lst = os.path.join(ROOT, LIST)
    if "--list" in args:
        i = args.index("--list")
        lst = args[i + 1]
        del args[i:i + 2]
    muts = parse(lst)
    if args:
        muts = [m for m in muts if m["name"] in args]
    elif quick:
        muts = [m for m in muts if m.get("quick") == "yes"]
    elif ci:
        muts = ci_share(muts)
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
    # The unmutated build, which each mutation's restore copies back, and
    # the other workers' copies, build included (timestamps kept: nothing
    # is rebuilt), made before the baseline so that it runs in all of them.
    pristine = os.path.join(ROOT, "build/mutate/pristine")
    shutil.rmtree(pristine, ignore_errors=True)
    subprocess.run(["cp", "-a", tree, pristine], check=True)
    workers = max(1, min(WORKERS, len(muts)))
    trees = [tree]
    for k in range(1, workers):
        other = os.path.join(ROOT, f"build/mutate/tree{k}")
        shutil.rmtree(other, ignore_errors=True)
        subprocess.run(["cp", "-a", tree, other], check=True)
        trees.append(other)
    t0 = time.time()
    limits, baseline_bad, baseline_took = baseline(all_cmds, trees)
    print(f"mutate: {len(all_cmds)} commands run unmutated in {time.time() - t0:.0f} s")
    for c, why in baseline_bad:
        print(f"BASELINE FAIL  {c}  (fails without any mutation)")
        for ln in why.splitlines():
            print(f"    {ln[:300]}")
    if baseline_bad:
        print(f"0 passed, {len(baseline_bad)} failed")
        return 1
    # The longest first (by what their commands took unmutated), so that no
    # worker is left with a long one while the others have finished.
    muts.sort(key=lambda m: -sum(baseline_took[c] for c in commands(m)))

    out = threading.Lock()
    counts = {"caught": 0, "survived": 0}
    start = time.time()

    def one(m, t):
        caught, line, log = try_mutation(m, t, pristine, limits)
        with out:
            print(line)
            if log:
                print(log)
            counts["caught" if caught else "survived"] += 1

    each_in_a_tree(muts, trees, one)
    caught, survived = counts["caught"], counts["survived"]
    print(f"mutate: {caught} of {caught + survived} mutations caught "
          f"in {time.time() - start:.0f} s ({workers} at a time)")
    print(f"{caught} passed, {survived} failed")
    return 0 if survived == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
