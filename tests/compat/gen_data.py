"""gen_data.py MIB - writes MIB MiB of generated data to stdout for the xz
case of the compat suite: log-like text lines (timestamps, hosts, requests,
status codes, sizes), with every 16th MiB random bytes.  Deterministic."""
import random
import sys
mib = int(sys.argv[1])
rng = random.Random(20240601)
paths = ["/api/v1/items", "/api/v1/users", "/static/app.js", "/login", "/api/v2/search", "/health"]
verbs = ["GET"] * 6 + ["POST", "PUT", "DELETE"]
out = sys.stdout.buffer
t = 1717243200.0
for chunk in range(mib):
    if chunk % 16 == 15:
        out.write(rng.randbytes(1 << 20))
        continue
    lines = []
    size = 0
    while size < (1 << 20):
        t += rng.expovariate(50.0)
        s = "%.3f host-%02d web[%d]: %s %s/%d status=%d bytes=%d dur=%.1fms user=u%d\n" % (
            t, rng.randrange(40), rng.randrange(1000, 1100), rng.choice(verbs), rng.choice(paths),
            rng.randrange(100000), rng.choice((200, 200, 200, 200, 304, 404, 500)),
            rng.randrange(100, 60000), rng.expovariate(0.05), rng.randrange(20000))
        lines.append(s)
        size += len(s)
    out.write("".join(lines).encode()[: 1 << 20])
