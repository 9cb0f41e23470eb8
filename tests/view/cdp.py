"""cdp.py - headless Chromium driven through the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on its fd 3, answers on its fd 4, each a
JSON message ended by a NUL byte), for what --dump-dom cannot do: press the
page's buttons and read the page between presses, in real time.  Used by
tests/view/controls.py and bench/view-draw.sh.

    with Page(url, chromium) as p:
        p.until("document.getElementById('grow').disabled === false")
        p.eval("document.getElementById('fwd').click()")
"""
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time


class Page:
    def __init__(self, url, chromium="chromium", size="1400,1000"):
        r3, w3 = os.pipe()  # chromium reads commands from its fd 3
        r4, w4 = os.pipe()  # chromium writes to its fd 4
        # out of the way of 3 and 4 (a dup2 onto itself keeps close-on-exec)
        r3, w3, r4, w4 = [fcntl.fcntl(f, fcntl.F_DUPFD_CLOEXEC, 10) for f in (r3, w3, r4, w4)]
        self.profile = tempfile.mkdtemp()
        args = [chromium, "--headless", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "--window-size=" + size, "--disable-background-networking",
                "--disable-component-update"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")

        def pre():
            os.dup2(r3, 3)
            os.dup2(w4, 4)

        self.proc = subprocess.Popen(args + ["about:blank"], preexec_fn=pre, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(r3)
        os.close(w4)
        self.out = os.fdopen(w3, "wb", buffering=0)
        self.inp = os.fdopen(r4, "rb", buffering=0)
        self.buf = b""
        self.nid = 0
        self.session = None
        t = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": t, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Page.navigate", {"url": url})

    def call(self, method, params=None, browser=False):
        """Sends a command (to the page's session unless browser) and returns its result."""
        self.nid += 1
        m = {"id": self.nid, "method": method, "params": params or {}}
        if self.session and not browser:
            m["sessionId"] = self.session
        self.out.write(json.dumps(m).encode() + b"\0")
        while True:
            while b"\0" in self.buf:
                msg, self.buf = self.buf.split(b"\0", 1)
                r = json.loads(msg)
                if r.get("id") == self.nid:
                    if "error" in r:
                        raise RuntimeError(r["error"])
                    return r["result"]
            chunk = self.inp.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk

    def eval(self, expr):
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"].get("text", "exception") + " in " + expr)
        return r["result"].get("value")

    def until(self, expr, timeout=120):
        """Waits until expr is true in the page; its last value (false at the timeout)."""
        end = time.time() + timeout
        v = None
        while time.time() < end:
            try:
                v = self.eval(expr)
            except RuntimeError:
                v = None  # the page is still loading
            if v:
                return v
            time.sleep(0.1)
        return v

    def close(self):
        try:
            self.call("Browser.close", browser=True)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
