#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_ops.c into tests/fuzz/corpus/.

Each seed is a short, meaningful sequence of operations in the harness's
encoding (described at the top of fuzz_ops.c), so that fuzzing starts from
every operation kind, the interesting sizes and alignments, and the paths
between them (reuse of dirty memory by calloc, realloc in place and by
moving, own mappings, arena growth and release, trim).

    tests/fuzz/make-corpus.py [DIR]      (default: tests/fuzz/corpus)

The output is deterministic; rerun it after changing the encoding.
"""
import os
import random
import sys

KIB = 1 << 10
MIB = 1 << 20
LARGE = MIB

OP = {name: i for i, name in enumerate([
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "free", "usable", "trim", "stats", "burst",
    "free_some", "walk", "write_after_free"])}


def le(value, width):
    return [(value >> (8 * i)) & 255 for i in range(width)]


def size(n):
    """The operand bytes that make draw_size() return exactly n."""
    if n == 0:
        return [0]
    if n < 1 << 16:
        return [6] + le(n, 2)
    if n < LARGE:
        return [7] + le(n - 64 * KIB, 4)
    if n < LARGE + 7 * MIB:
        return [9] + le(n - LARGE, 4)
    raise ValueError(n)


def huge(kind, x=0):
    """draw_size()'s category of sizes that must fail (see draw_huge())."""
    return [13, kind, x]


BAD_ALIGNS = [0, 3, 5, 6, 12, 24, 48, 100, 1000, 4095, 4097, MIB + 16, 3 * MIB,
              2**64 - 1, 2**64 - 2, 2**63 + 16]


def align(a):
    """The operand bytes that make draw_align() return exactly a."""
    if a in BAD_ALIGNS:
        return [4, BAD_ALIGNS.index(a)]
    shift = a.bit_length() - 1
    assert a == 1 << shift, a
    if shift <= 4:
        return [0, shift]
    if shift <= 12:
        return [1, shift - 5]
    if shift <= 23:
        return [3, shift - 13]
    if shift >= 48:
        return [5, shift - 48]
    raise ValueError(a)


# One function per operation, each returning its bytes.
def malloc(slot, n):
    return [OP["malloc"], slot] + (n if isinstance(n, list) else size(n))


def calloc(slot, count, each):
    """calloc(count, each) through the mode that encodes it exactly."""
    if count == 1:
        return [OP["calloc"], slot, 0] + size(each)
    if each == 1:
        return [OP["calloc"], slot, 1] + size(count)
    if 1 <= count <= 16:
        return [OP["calloc"], slot, 2, count - 1] + size(each)
    raise ValueError((count, each))


def calloc_overflow(slot, which):
    return [OP["calloc"], slot, 3, which]


def calloc_zero(slot, n, count_is_zero):
    return [OP["calloc"], slot, 4, 1 if count_is_zero else 0] + size(n)


def realloc(slot, n):
    return [OP["realloc"], slot, 0] + (n if isinstance(n, list) else size(n))


def realloc_grow(slot, d):
    return [OP["realloc"], slot, 1, d]


def realloc_shrink(slot, d):
    return [OP["realloc"], slot, 2, d]


def realloc_double(slot):
    return [OP["realloc"], slot, 3]


def realloc_zero(slot):
    return [OP["realloc"], slot, 4]


def realloc_halve(slot):
    return [OP["realloc"], slot, 5]


def realloc_huge(slot, kind, x=0):
    return [OP["realloc"], slot, 6, kind, x]


def reallocarray(slot, count, n):
    return [OP["reallocarray"], slot, 0, count] + size(n)


def reallocarray_overflow(slot, which):
    return [OP["reallocarray"], slot, 1, which]


def aligned(op, slot, a, n):
    return [OP[op], slot] + align(a) + (n if isinstance(n, list) else size(n))


def valloc(slot, n):
    return [OP["valloc"], slot] + (n if isinstance(n, list) else size(n))


def pvalloc(slot, n):
    return [OP["pvalloc"], slot] + (n if isinstance(n, list) else size(n))


def free(slot):
    return [OP["free"], slot]


def usable(slot):
    return [OP["usable"], slot]


def trim():
    return [OP["trim"]]


def stats(mode):
    return [OP["stats"], mode]


def burst(slot, count, n):
    return [OP["burst"], slot, count - 1] + size(n)


def free_some(slot, stride, count):
    return [OP["free_some"], slot, stride - 1, count - 1]


def walk():
    return [OP["walk"]]


def waf(slot, off, kind, raw=0):
    """Frees slot's block, then writes 8 bytes at off into it (fuzz_ops.c)."""
    return [OP["write_after_free"], slot, off, kind] + (le(raw, 8) if kind >= 6 else [])


def seq(*ops):
    out = []
    for op in ops:
        out += op
    return out


SMALL = [0, 1, 8, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 100, 255]
CLASS_EDGES = [992, 1000, 1008, 1015, 1016, 1017, 1020, 1024, 1025, 1032, 1040]
MEDIUM = [1100, 2000, 4088, 4096, 4104, 10000, 65535, 65536, 100000, 262144, 500000]
THRESHOLD = [LARGE - 80, LARGE - 24, LARGE - 16, LARGE - 8, LARGE - 1, LARGE, LARGE + 1,
             LARGE + 8, LARGE + 79]
BIG = [2 * MIB, 3 * MIB + 5, 4 * MIB - 144, 4 * MIB, 6 * MIB + 4096]


def seeds():
    s = {}
    s["malloc-small"] = seq(*[seq(malloc(i, n), usable(i)) for i, n in enumerate(SMALL)],
                            walk(), *[free(i) for i in range(len(SMALL))])
    s["malloc-class-edges"] = seq(*[malloc(i, n) for i, n in enumerate(CLASS_EDGES)], walk(),
                                  stats(0), free_some(0, 2, 8), walk(),
                                  *[malloc(i, n) for i, n in enumerate(reversed(CLASS_EDGES))])
    s["malloc-medium"] = seq(*[seq(malloc(i, n), usable(i)) for i, n in enumerate(MEDIUM)],
                             walk(), free_some(0, 1, len(MEDIUM)))
    s["malloc-threshold"] = seq(*[seq(malloc(i, n), usable(i)) for i, n in enumerate(THRESHOLD)],
                                walk(), stats(0), free_some(0, 1, len(THRESHOLD)), stats(0))
    s["malloc-big"] = seq(*[seq(malloc(i, n), usable(i)) for i, n in enumerate(BIG)], walk(),
                          stats(0), free_some(0, 1, len(BIG)))
    s["malloc-huge"] = seq(*[malloc(k, huge(k, 3 * k)) for k in range(8)],
                           malloc(8, huge(0, 0)), malloc(9, huge(2, 0)), stats(0))
    s["malloc-reuse-lifo"] = seq(*[seq(malloc(0, n), free(0), malloc(1, n), malloc(0, n))
                                   for n in (24, 100, 1016, 1017, 5000, 70000)], walk())
    s["calloc-small"] = seq(*[calloc(i, 1, n) for i, n in enumerate(SMALL)],
                            calloc(20, 3, 7), calloc(21, 16, 64), calloc(22, 1000, 1))
    s["calloc-dirty-reuse"] = seq(
        *[seq(burst(0, 8, n), free_some(0, 1, 8), calloc(0, 1, n), calloc(1, 2, n // 2),
              calloc(2, 1, n + 16)) for n in (32, 1016, 1024, 4096, 50000, 300000)])
    s["calloc-after-trim"] = seq(burst(0, 12, 200000), free_some(0, 1, 12), trim(),
                                 calloc(0, 1, 900000), calloc(1, 4, 100000), stats(0))
    s["calloc-large"] = seq(calloc(0, 1, LARGE), calloc(1, 3, LARGE // 2 + 1),
                            calloc(2, 16, 300000), realloc(0, 3 * MIB), free(1), walk())
    s["calloc-overflow"] = seq(*[calloc_overflow(i, i) for i in range(6)], calloc(6, 16, 0))
    s["calloc-zero"] = seq(calloc_zero(0, 100, True), calloc_zero(1, 100, False),
                           calloc_zero(2, 0, True), usable(0), usable(1))
    s["realloc-grow-chain"] = seq(malloc(0, 1), *[realloc_double(0) for _ in range(22)],
                                  walk(), *[realloc_halve(0) for _ in range(22)], usable(0))
    s["realloc-small-steps"] = seq(malloc(0, 8), *[realloc_grow(0, d) for d in
                                                    (0, 7, 8, 15, 16, 100, 255, 255, 255)],
                                   *[realloc_shrink(0, d) for d in (0, 7, 8, 15, 100, 255)])
    s["realloc-in-place"] = seq(malloc(0, 2000), malloc(1, 2000), malloc(2, 2000), free(1),
                                realloc(0, 3000), realloc(0, 4000), realloc(0, 6000), walk(),
                                realloc(0, 100), walk())
    s["realloc-cached-neighbour"] = seq(malloc(0, 100), malloc(1, 100), malloc(2, 100), free(1),
                                        realloc(0, 200), walk(), malloc(1, 40), free(1),
                                        realloc(0, 230), usable(0))
    s["realloc-from-null"] = seq(realloc(0, 0), realloc(1, 100), realloc(2, 5000),
                                 realloc(3, 2 * MIB), realloc(4, huge(0)), usable(0))
    s["realloc-to-zero"] = seq(malloc(0, 100), realloc_zero(0), malloc(1, 5000), realloc(1, 0),
                               malloc(2, 2 * MIB), realloc_zero(2), realloc_zero(3), walk())
    s["realloc-huge-fails"] = seq(malloc(0, 100), realloc_huge(0, 0), realloc_huge(0, 2),
                                  malloc(1, 3 * MIB), realloc_huge(1, 3), realloc_huge(1, 4, 10),
                                  usable(0), usable(1))
    s["realloc-large"] = seq(malloc(0, 2 * MIB), realloc(0, 3 * MIB), realloc(0, 5 * MIB),
                             realloc(0, LARGE + 1), realloc(0, LARGE - 1), realloc(0, 7 * MIB),
                             realloc(0, 100), realloc(0, LARGE), usable(0))
    s["realloc-across-threshold"] = seq(malloc(0, LARGE - 100), realloc(0, LARGE - 8),
                                        realloc(0, LARGE), realloc(0, LARGE - 16),
                                        malloc(1, LARGE + 16), realloc(1, LARGE - 24), walk())
    s["reallocarray"] = seq(reallocarray(0, 4, 25), reallocarray(0, 16, 1000),
                            reallocarray(0, 1, 2 * MIB), reallocarray_overflow(0, 0),
                            reallocarray_overflow(0, 2), reallocarray(0, 0, 100),
                            reallocarray_overflow(1, 3), usable(0))
    for op in ("posix_memalign", "aligned_alloc", "memalign"):
        s[op + "-valid"] = seq(*[aligned(op, i, 1 << k, n) for i, (k, n) in enumerate(
            [(0, 10), (2, 10), (3, 10), (4, 0), (5, 33), (6, 100), (8, 1000), (10, 5000),
             (12, 4096), (13, 100), (16, 70000), (20, 10), (21, 3 * MIB), (22, 100),
             (23, 2 * MIB)])], walk(), stats(0))
        s[op + "-invalid"] = seq(*[aligned(op, i, a, 100) for i, a in enumerate(BAD_ALIGNS)],
                                 aligned(op, 16, 1 << 48, 100), aligned(op, 17, 1 << 63, 1),
                                 aligned(op, 18, 64, huge(0)), aligned(op, 19, 3, huge(1)))
    s["aligned-then-realloc"] = seq(aligned("aligned_alloc", 0, 4096, 3000), realloc(0, 9000),
                                    aligned("memalign", 1, 1 << 21, 100), realloc(1, 200),
                                    aligned("posix_memalign", 2, 256, 1017), realloc(2, 5),
                                    walk())
    s["aligned-fragment"] = seq(burst(0, 8, 3000), free_some(0, 2, 4),
                                *[aligned("aligned_alloc", 10 + i, 1 << (6 + i), 700)
                                  for i in range(6)], walk(), free_some(0, 1, 16), walk())
    s["valloc"] = seq(valloc(0, 0), valloc(1, 1), valloc(2, 4096), valloc(3, 4097),
                      valloc(4, 2 * MIB), valloc(5, huge(0)), usable(1), walk())
    s["pvalloc"] = seq(pvalloc(0, 0), pvalloc(1, 1), pvalloc(2, 4096), pvalloc(3, 4097),
                       pvalloc(4, LARGE - 1), pvalloc(5, huge(0, 0)), pvalloc(6, huge(5, 0)),
                       usable(0), usable(3))
    s["free-and-usable-null"] = seq(free(0), usable(0), malloc(0, 10), free(0), free(0),
                                    usable(0))
    s["trim"] = seq(burst(0, 16, 100000), free_some(0, 2, 8), trim(), walk(), stats(0),
                    burst(0, 16, 100000), trim(), free_some(0, 1, 16), trim(), stats(0))
    s["stats-modes"] = seq(malloc(0, 100), malloc(1, 2 * MIB), *[stats(m) for m in range(5)])
    s["arena-grow-release"] = seq(burst(0, 16, 900000), walk(), stats(0), free_some(0, 1, 16),
                                  stats(0), burst(0, 16, 500000), free_some(0, 3, 16), walk())
    s["coalesce-both-ways"] = seq(burst(0, 9, 5000), free(1), free(3), free(2), walk(), free(5),
                                  free(7), free(6), walk(), malloc(1, 15000), walk())
    s["tcache-overflow"] = seq(burst(0, 16, 64), burst(16, 16, 64), free_some(0, 1, 16),
                               free_some(16, 1, 16), burst(0, 16, 64), walk(), stats(0))
    s["usable-tail-writes"] = seq(*[seq(malloc(i, n), usable(i)) for i, n in
                                    enumerate([1, 9, 17, 25, 1009, 1017, 4095])],
                                  free_some(0, 2, 4), walk())

    # A few longer sequences drawn at random over the interesting sizes.
    rng = random.Random(20240605)
    pool = SMALL + CLASS_EDGES + MEDIUM + THRESHOLD + BIG
    for k in range(6):
        ops = []
        for _ in range(40):
            slot = rng.randrange(32)
            n = rng.choice(pool)
            kind = rng.randrange(8)
            if kind == 0:
                ops.append(malloc(slot, n))
            elif kind == 1:
                ops.append(calloc(slot, 1, n))
            elif kind == 2:
                ops.append(realloc(slot, n))
            elif kind == 3:
                ops.append(aligned(rng.choice(["posix_memalign", "aligned_alloc", "memalign"]),
                                   slot, 1 << rng.randrange(3, 14), n))
            elif kind == 4:
                ops.append(free(slot))
            elif kind == 5:
                ops.append(burst(slot, rng.randrange(1, 9), rng.choice(SMALL + CLASS_EDGES)))
            elif kind == 6:
                ops.append(free_some(slot, rng.randrange(1, 5), rng.randrange(1, 9)))
            else:
                ops.append(rng.choice([walk(), trim(), stats(0), usable(slot)]))
        s["mixed-%d" % k] = seq(*ops)
    # Writes after free into the links of cached and listed blocks, then
    # what follows them: the cache pop, the search, trim, realloc.
    for n, where in ((100, "cached"), (3000, "listed")):
        for off in (0, 8, 16, 24):
            s["waf-%s-%d" % (where, off)] = seq(
                malloc(0, n), malloc(1, n), malloc(2, n), malloc(3, n), waf(1, off, off // 8 % 6),
                malloc(4, n), malloc(5, n - 16), malloc(6, 2 * n), trim(), realloc_grow(0, 200),
                malloc(7, n), walk())
    # Over a listed block's footer (its last 8 bytes), then the free of the
    # block after it, which merges backward through the footer.
    for kind in (1, 2):
        s["waf-footer-%d" % kind] = seq(malloc(0, 3000), malloc(1, 3000), malloc(2, 3000),
                                        malloc(3, 3000), waf(1, 25, kind), free(2), walk())
    s["waf-raw"] = seq(malloc(0, 5000), malloc(1, 5000), malloc(2, 5000),
                       waf(1, 0, 6, 0x0123456789abcdef), malloc(3, 4000), malloc(4, 6000))
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    os.makedirs(out, exist_ok=True)
    all_seeds = seeds()
    for name, data in sorted(all_seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(data))
    print("%d seeds written to %s" % (len(all_seeds), out))


if __name__ == "__main__":
    main()
