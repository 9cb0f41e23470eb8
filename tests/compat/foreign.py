"""foreign.py OP SIZE - hands a block from jemalloc to HawkAlloc (compat suite).

Run with LD_PRELOAD="<libhawkalloc.so> <libjemalloc.so.2>": malloc, free,
realloc and malloc_usable_size are then HawkAlloc's (first in the search
order) while mallocx and dallocx, which HawkAlloc does not define, are
jemalloc's.  OP free, realloc or malloc_usable_size: prints the address of a
SIZE-byte block from jemalloc's mallocx, then passes it to OP; HawkAlloc
must stop the process (SIGABRT) with its one-line message.  OP pair: a
HawkAlloc block and a jemalloc block, each returned to its own allocator;
prints "ok"."""
import ctypes
import sys

c = ctypes.CDLL(None)
c.mallocx.restype = ctypes.c_void_p
c.mallocx.argtypes = [ctypes.c_size_t, ctypes.c_int]
c.dallocx.argtypes = [ctypes.c_void_p, ctypes.c_int]
c.malloc.restype = ctypes.c_void_p
c.malloc.argtypes = [ctypes.c_size_t]
c.free.argtypes = [ctypes.c_void_p]
c.realloc.restype = ctypes.c_void_p
c.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
c.malloc_usable_size.restype = ctypes.c_size_t
c.malloc_usable_size.argtypes = [ctypes.c_void_p]

op, size = sys.argv[1], int(sys.argv[2])
if op == "pair":
    p = c.malloc(size)
    ctypes.memset(p, 0x5A, size)
    assert c.malloc_usable_size(p) >= size
    c.free(p)
    q = c.mallocx(size, 0)
    ctypes.memset(q, 0xA5, size)
    c.dallocx(q, 0)
    print("ok")
    sys.exit(0)
p = c.mallocx(size, 0)
ctypes.memset(p, 0x11, size)
print(hex(p), flush=True)
if op == "free":
    c.free(p)
elif op == "realloc":
    c.realloc(p, size * 2)
elif op == "malloc_usable_size":
    c.malloc_usable_size(p)
else:
    sys.exit("unknown op " + op)
print("HawkAlloc accepted the jemalloc block", flush=True)
