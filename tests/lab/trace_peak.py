#!/usr/bin/env python3
"""trace_peak.py TRACE - the peak of live requested bytes of a HawkAlloc trace,
computed from the file alone (docs/trace-format.md), independently of hawk.

Records are ordered by seq (ties keep file order); each result pointer names
a block until it is freed.  A free of a pointer never seen allocated, and a
call that returned 0, change nothing; a realloc of an unknown pointer is a new
block; an allocation returning a pointer that is still live ends the old block
(its free was not recorded before it).  Prints: records peak_live."""
import struct
import sys

def main(path):
    data = open(path, "rb").read()
    if data[:8] != b"HAWKTRC\0":
        sys.exit(f"{path}: not a HawkAlloc trace")
    version, header, record = struct.unpack_from("<III", data, 8)
    n = (len(data) - header) // record
    recs = []
    for i in range(n):
        off = header + i * record
        seq, thread, op = struct.unpack_from("<QIB", data, off)
        result, size, aux = struct.unpack_from("<QQQ", data, off + 16)
        recs.append((seq, i, op, result, size, aux))
    recs.sort(key=lambda r: (r[0], r[1]))
    live = {}
    total = peak = 0
    for _seq, _i, op, result, size, aux in recs:
        if op == 2:  # free
            total -= live.pop(result, 0)
            continue
        if op not in (1, 3, 4, 5) or result == 0:
            continue
        if op == 4:
            total -= live.pop(aux, 0) if aux else 0
        total -= live.pop(result, 0)
        live[result] = size
        total += size
        peak = max(peak, total)
    print(n, peak)

if __name__ == "__main__":
    main(sys.argv[1])
