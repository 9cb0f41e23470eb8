#!/usr/bin/env python3
"""trace_peak.py [--heaps|--threads] TRACE - the peak of live requested bytes
of a HawkAlloc trace, computed from the file alone (docs/trace-format.md),
independently of hawk.

Reads versions 1 and 2 (fixed-size records) and 3 (chunks of variable-length
records, decoded here from the format's description; a file that does not
decode exactly is refused in one line, exit 1).  Records are ordered by seq
(ties keep file order); each result pointer names a block until it is freed.
A free of a pointer never seen allocated, and a call that returned 0, change
nothing; a realloc of an unknown pointer is a new block; an allocation
returning a pointer that is still live ends the old block (its free was not
recorded before it).  Version 2 and 3 records carry a heap id: a heap's
destroy (op 7) frees its blocks still live; its create (op 6) names no block.
Prints: records peak_live.  With --heaps, also the number of records of
created heaps (id 16 and up), of creates and of destroys; with --threads,
only the number of threads that recorded.  records(path) gives the records
as (seq, thread, op, result, size, aux, heap) in file order."""
import struct
import sys

M64 = (1 << 64) - 1


class Damaged(Exception):
    pass


def _varint(data, pos, end):
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Damaged(f"a bad or cut number at byte {pos}")
        c = data[pos]
        pos += 1
        if shift == 63 and c > 1:
            raise Damaged(f"a number of more than 64 bits before byte {pos}")
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, pos


def _ptr(u):
    """A pointer delta's varint value back to the delta (mod 2**64)."""
    x = (u >> 1) ^ (M64 if u & 1 else 0)
    hi = x & ((1 << 60) - 1)
    if hi >> 59:
        hi |= 0xF << 60  # sign-extended from bit 59: the delta shifted right by 4
    return ((hi << 4) & M64) | ((x ^ hi) >> 60)


def _v3(data, header):
    off = header
    while off < len(data):
        if len(data) - off < 32:
            raise Damaged(f"cut short: {len(data) - off} bytes at byte {off}, less than a chunk header")
        mark = data[off:off + 4]
        nbytes, count, thread, skip, zero, seq = struct.unpack_from("<IIIIIQ", data, off + 4)
        if mark != b"HTC3":
            raise Damaged(f"no chunk header at byte {off}")
        if nbytes > len(data) - off - 32:
            raise Damaged(f"cut short: the chunk at byte {off} claims {nbytes} bytes")
        if count == 0 or count > nbytes or thread == 0 or skip >= count or zero:
            raise Damaged(f"the chunk at byte {off} claims {count} records in {nbytes} bytes")
        pos, end, prev = off + 32, off + 32 + nbytes, 0
        for i in range(count):
            if pos >= end:
                raise Damaged(f"the chunk at byte {off} ends before its {count} records")
            flags = data[pos]
            op = flags & 7
            pos += 1
            dseq, dres, size, aux, heap = 1, 0, 0, 0, 0
            if op == 0:
                raise Damaged(f"op 0 at byte {pos - 1}")
            if flags & 0x08:
                dseq, pos = _varint(data, pos, end)
            if flags & 0x10:
                dres, pos = _varint(data, pos, end)
            if flags & 0x20:
                size, pos = _varint(data, pos, end)
            if flags & 0x40:
                aux, pos = _varint(data, pos, end)
            if flags & 0x80:
                heap, pos = _varint(data, pos, end)
            if dseq == 0 or seq + dseq > M64 or heap > 0xFFFFFFFF:
                raise Damaged(f"an impossible seq or heap id before byte {pos}")
            seq += dseq
            prev = (prev + _ptr(dres)) & M64
            if flags & 0x40 and op == 4:
                aux = (_ptr(aux) + prev) & M64
            heap = (heap >> 1) ^ -(heap & 1)
            if i >= skip:  # the first skip records are in an earlier chunk
                yield (seq, thread, op, prev, size, aux, heap)
        if pos != end:
            raise Damaged(f"the chunk at byte {off} has bytes after its {count} records")
        off = end


def records(path):
    data = open(path, "rb").read()
    if data[:8] != b"HAWKTRC\0" or len(data) < 32:
        sys.exit(f"{path}: not a HawkAlloc trace")
    version, header, record = struct.unpack_from("<III", data, 8)
    if version == 3 and record == 0:
        try:
            return list(_v3(data, header))
        except Damaged as e:
            sys.exit(f"{path}: HawkAlloc trace damaged: {e}")
    if version not in (1, 2) or header < 32 or record < 40:
        sys.exit(f"{path}: unsupported header (version {version}, header {header} bytes, "
                 f"records {record} bytes)")
    recs = []
    for i in range((len(data) - header) // record):
        off = header + i * record
        seq, thread, op = struct.unpack_from("<QIB", data, off)
        result, size, aux = struct.unpack_from("<QQQ", data, off + 16)
        heap = struct.unpack_from("<i", data, off + 40)[0] if version >= 2 and record >= 48 else 0
        recs.append((seq, thread, op, result, size, aux, heap))
    return recs


def main(path, mode=None):
    recs = [(r[0], i, r[2], r[3], r[4], r[5], r[6]) for i, r in enumerate(records(path))]
    if mode == "threads":
        print(len({r[1] for r in records(path)}))
        return
    n = len(recs)
    recs.sort(key=lambda r: (r[0], r[1]))
    live = {}  # pointer -> (size, heap)
    total = peak = 0
    for _seq, _i, op, result, size, aux, heap in recs:
        if op == 7:  # a heap destroyed: its live blocks go
            for p in [p for p, (_s, h) in live.items() if h == heap]:
                total -= live.pop(p)[0]
            continue
        if op == 2:  # free
            total -= live.pop(result, (0, 0))[0]
            continue
        if op not in (1, 3, 4, 5) or result == 0:
            continue
        if op == 4:
            total -= live.pop(aux, (0, 0))[0] if aux else 0
        total -= live.pop(result, (0, 0))[0]
        live[result] = (size, heap)
        total += size
        peak = max(peak, total)
    if mode == "heaps":
        print(n, peak, sum(1 for r in recs if r[6] >= 16), sum(1 for r in recs if r[2] == 6),
              sum(1 for r in recs if r[2] == 7))
    else:
        print(n, peak)


if __name__ == "__main__":
    if sys.argv[1] in ("--heaps", "--threads"):
        main(sys.argv[2], mode=sys.argv[1][2:])
    else:
        main(sys.argv[1])
