# holes.py - a Python program that leaves holes in its heap (docs/lab.md).
# Run it with PYTHONMALLOC=malloc, so that every object goes through malloc:
#   PYTHONMALLOC=malloc build/hawk run --map py.svg --stats -- /usr/bin/python3 docs/lab/holes.py
# 1. 20,000 byte strings of random sizes (16 to 3,000 bytes), side by side;
# 2. every second one deleted: holes of up to 3,000 bytes between the others;
# 3. 3,000 objects of 4,000 bytes: none fits a hole, so they need new memory;
# 4. under `hawk run --map` (HAWKALLOC_MAP set), a SIGUSR2 to itself asks
#    HawkAlloc for a picture of the heap now, while everything is still alive.
import os
import random
import signal

rng = random.Random(1)
objs = [bytes(rng.randrange(16, 3000)) for _ in range(20000)]
del objs[::2]
big = [bytes(4000) for _ in range(3000)]
if "HAWKALLOC_MAP" in os.environ:
    os.kill(os.getpid(), signal.SIGUSR2)
print(len(objs), "small objects kept,", len(big), "big ones")
