"""Writes a `git fast-import` stream to stdout: a history of COMMITS commits
(default 400) over a tree of some hundreds of text files in nested
directories.  Each commit edits a few files (lines changed, inserted,
removed), and now and then adds, deletes or renames one; every 50th commit
starts a side branch that is merged back ten commits later.  Deterministic:
fixed seed, fixed dates."""
import random
import sys

commits = int(sys.argv[1]) if len(sys.argv) > 1 else 400
rng = random.Random(4242)
words = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
         "sigma tau upsilon phi chi psi omega heap arena block header footer free list split coalesce "
         "cache thread lock mmap munmap page size class bitmap").split()
out = sys.stdout.buffer


def line():
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))


files = {}
for i in range(600):
    path = "src%d/mod%d/file%03d.txt" % (i % 13, i % 7, i)
    files[path] = [line() for _ in range(rng.randint(10, 120))]

mark = 0


def blob(lines):
    global mark
    mark += 1
    data = ("\n".join(lines) + "\n").encode()
    out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
    return mark


def commit(ref, n, msg, changes, parents):
    global mark
    mark += 1
    when = 1704067200 + n * 3600
    msg = msg.encode()
    out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
    out.write(b"author Hawk Tester <tester@example.invalid> %d +0000\n" % when)
    out.write(b"committer Hawk Tester <tester@example.invalid> %d +0000\n" % (when + 60))
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    for i, p in enumerate(parents):
        out.write(b"%s :%d\n" % (b"from" if i == 0 else b"merge", p))
    for c in changes:
        out.write(c.encode() + b"\n")
    out.write(b"\n")
    return mark


first = [("M 100644 :%d %s" % (blob(v), p)) for p, v in sorted(files.items())]
head = commit("refs/heads/main", 0, "initial import\n", first, [])
side = None
for n in range(1, commits):
    changes = []
    for p in rng.sample(sorted(files), rng.randint(1, 8)):
        lines = files[p]
        for _ in range(rng.randint(1, 6)):
            k = rng.randrange(len(lines) + 1)
            op = rng.random()
            if op < 0.5 and k < len(lines):
                lines[k] = line()
            elif op < 0.8 or len(lines) < 5:
                lines.insert(k, line())
            else:
                del lines[min(k, len(lines) - 1)]
        changes.append("M 100644 :%d %s" % (blob(lines), p))
    on_side = n % 50 == 0 or (side is not None and n % 2 == 1 and n % 50 != 10)
    r = 1.0 if on_side else rng.random()    # adds, deletes and renames: on main only
    if r < 0.05:
        p = "new/n%d/added%04d.txt" % (n % 5, n)
        files[p] = [line() for _ in range(rng.randint(5, 60))]
        changes.append("M 100644 :%d %s" % (blob(files[p]), p))
    elif r < 0.08:
        p = rng.choice(sorted(files))
        if not any(c.endswith(" " + p) for c in changes):
            del files[p]
            changes.append("D %s" % p)
    elif r < 0.10:
        p = rng.choice(sorted(files))
        if not any(c.endswith(" " + p) for c in changes):
            q = "moved/%s" % p.replace("/", "_")
            files[q] = files.pop(p)
            changes.append('R "%s" "%s"' % (p, q))
    text = "change %d: %s\n\n%s.\n" % (n, line(), line().capitalize())
    if n % 50 == 0:
        side = commit("refs/heads/topic%d" % n, n, text, changes, [head])
    elif side is not None and n % 50 == 10:
        head = commit("refs/heads/main", n, "merge topic%d\n\n%s" % (n - 10, text), changes, [head, side])
        side = None
    elif on_side:
        side = commit("refs/heads/topic%d" % (n - n % 50), n, text, changes, [side])
    else:
        head = commit("refs/heads/main", n, text, changes, [head])
