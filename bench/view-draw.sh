#!/usr/bin/env bash
# view-draw.sh - how fast a page of `hawk view` is in headless Chromium: a
# benchmark, never a test (the machine is noisy).  For each op it opens
# PAGE.html#op=OP&bench from disk, driven through the DevTools protocol (on a
# pipe, in real time: --virtual-time-budget would stop the page's clock
# while it waits), and prints what the page wrote into its hidden #timing
# element: when the first call was drawn, counted from the start of loading
# (parsing the page, inflating and decoding the chunk of that call), when
# the charts were, then the time to jump to 20 calls scattered over the
# trace (each jump decodes the chunk it lands in unless it already was) and
# to step on 20 times, and where that time went.
#   bench/view-draw.sh PAGE.html [OP...]     (default ops: 1, the middle, the end)
set -euo pipefail
page=$(readlink -f "$1")
shift
chromium=${CHROMIUM:-chromium}
ops=("$@")
if ((${#ops[@]} == 0)); then
  n=$(grep -o 'nops: [0-9]*' "$page" | head -1 | cut -d' ' -f2)
  ops=(1 $((n / 2)) "$n")
fi
echo "$(basename "$page"): $(stat -c %s "$page") bytes"
for op in "${ops[@]}"; do
  t=$(timeout 300 python3 - "file://$page#op=$op&bench" "$chromium" <<'EOF'
import fcntl, json, os, shutil, subprocess, sys, time, tempfile
def main(url, chromium, timeout=120):
    r3, w3 = os.pipe()  # chromium reads commands from its fd 3
    r4, w4 = os.pipe()  # chromium writes to its fd 4
    # out of the way of 3 and 4 (a dup2 onto itself would keep close-on-exec)
    r3, w3, r4, w4 = [fcntl.fcntl(f, fcntl.F_DUPFD_CLOEXEC, 10) for f in (r3, w3, r4, w4)]
    prof = tempfile.mkdtemp()
    args = [chromium, "--headless", "--disable-gpu", "--no-first-run", "--user-data-dir=" + prof,
            "--remote-debugging-pipe", "--window-size=1400,1000"]
    if os.geteuid() == 0: args.append("--no-sandbox")
    def pre():
        os.dup2(r3, 3); os.dup2(w4, 4)
    p = subprocess.Popen(args + ["about:blank"], preexec_fn=pre, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False)
    os.close(r3); os.close(w4)
    out = os.fdopen(w3, "wb", buffering=0); inp = os.fdopen(r4, "rb", buffering=0)
    buf = b""; nid = [0]
    def send(method, params=None, session=None):
        nid[0] += 1
        m = {"id": nid[0], "method": method, "params": params or {}}
        if session: m["sessionId"] = session
        out.write(json.dumps(m).encode() + b"\0")
        return nid[0]
    def wait(i):
        nonlocal buf
        while True:
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                if m.get("id") == i:
                    if "error" in m: raise RuntimeError(m["error"])
                    return m["result"]
            chunk = inp.read(65536)
            if not chunk: raise RuntimeError("chromium closed the pipe")
            buf += chunk
    t = wait(send("Target.createTarget", {"url": "about:blank"}))["targetId"]
    s = wait(send("Target.attachToTarget", {"targetId": t, "flatten": True}))["sessionId"]
    wait(send("Page.enable", session=s))
    wait(send("Page.navigate", {"url": url}, session=s))
    end = time.time() + timeout
    text = ""
    while time.time() < end:
        r = wait(send("Runtime.evaluate", {"expression": "(document.getElementById('timing')||{}).textContent||''", "returnByValue": True}, session=s))
        text = r["result"].get("value", "")
        if text and ("bench" not in url or "jump" in text): break
        time.sleep(0.2)
    try: wait(send("Browser.close"))
    except Exception: pass
    p.wait(timeout=30)
    shutil.rmtree(prof, ignore_errors=True)
    print(text or "no timing (the script did not finish)")
main(sys.argv[1], sys.argv[2])
EOF
  ) || t="no timing (chromium failed)"
  echo "  #op=$op: $t"
done
