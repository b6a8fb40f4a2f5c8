"""Load and crash bench of the feedback app: 20 clients x 100 judgements over HTTP, with a SIGKILL.

    python bench/feedback_load.py [--clients 20] [--per-client 100] [--kill-after 700]

The server runs as its own process (``python -m core.feedback serve --no-generate``). Each client logs
in, then posts judgements with its own ids, retrying a request until it is acknowledged. After
``--kill-after`` acknowledgements the server is killed with SIGKILL and restarted on the same database.
At the end every acknowledged judgement must be stored, each exactly once, and the total must be
clients x per-client. Latency percentiles (acknowledged requests; retries across the outage
excluded) are reported, not asserted.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from core.feedback.store import Store


def start_server(db: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "core.feedback", "serve", "--no-generate", "--db", db,
                             "--port", str(port), "--overlap", "1000"], stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/progress", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--per-client", type=int, default=100)
    ap.add_argument("--kill-after", type=int, default=700, help="acks before SIGKILL (0: no crash)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rlft-feedback-bench-")
    db = str(Path(tmp) / "bench.db")
    Store(db).add_pairs([{"prompt": f"p{i}", "prompt_text": f"prompt {i}", "completion_a": "a", "completion_b": "b",
                          "model_a": "m", "model_b": "m"} for i in range(1, a.per_client + 1)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = [start_server(db, port)]
    acked: list[str] = []
    latencies: list[float] = []
    lock, killed = threading.Lock(), threading.Event()

    def client(c: int) -> None:
        http = httpx.Client(base_url=base, timeout=10)
        while True:
            try:
                key = http.post("/api/login", json={"name": f"rater{c}"}).json()["key"]
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        for i in range(1, a.per_client + 1):
            body = {"uid": f"c{c}-j{i}-{os.getpid()}", "pair_id": i, "rater": f"rater{c}", "choice": "ab"[i % 2]}
            retried = False
            while True:
                t0 = time.perf_counter()
                try:
                    r = http.post("/api/judgements", json=body, headers={"X-Rater-Key": key})
                    if r.status_code in (200, 201):
                        break
                    raise RuntimeError(f"unexpected {r.status_code}: {r.text}")
                except httpx.HTTPError:
                    retried = True
                    time.sleep(0.2)
            with lock:
                acked.append(body["uid"])
                if not retried:
                    latencies.append(time.perf_counter() - t0)
                if a.kill_after and len(acked) == a.kill_after and not killed.is_set():
                    killed.set()
                    server[0].send_signal(signal.SIGKILL)
                    threading.Thread(target=lambda: server.append(start_server(db, port))).start()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    for proc in server:
        proc.kill()
    rows = sqlite3.connect(db).execute("SELECT uid FROM judgements").fetchall()
    stored = [r[0] for r in rows]
    expected = a.clients * a.per_client
    missing = set(acked) - set(stored)
    lat = sorted(latencies)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{a.clients} clients x {a.per_client} judgements; SIGKILL after {a.kill_after or 'never'}")
    print(f"stored {len(stored)} (expected {expected}), distinct {len(set(stored))}, acknowledged {len(acked)}, "
          f"acknowledged but missing {len(missing)}")
    print(f"wall {wall:.1f} s, {len(acked) / wall:.0f} judgements/s; latency p50 {statistics.median(lat) * 1000:.1f} ms,"
          f" p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms (n={len(lat)})")
    ok = len(stored) == expected == len(set(stored)) and not missing
    print("OK: every acknowledged judgement stored exactly once" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
