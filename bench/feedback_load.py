"""Load and crash bench of the feedback app: 20 clients x 100 judgements over HTTP, with a SIGKILL.

    python bench/feedback_load.py [--clients 20] [--per-client 100] [--kill-after 700]

The server runs as its own process (``python -m core.feedback serve --no-generate``). Each client logs
in, then posts judgements with its own ids, retrying a request until it is acknowledged. After
``--kill-after`` acknowledgements the server is killed with SIGKILL and restarted on the same database.
At the end every acknowledged judgement must be stored, each exactly once, and the total must be
clients x per-client. Latency percentiles (acknowledged requests; retries across the outage
excluded) are reported, not asserted. A server that exits or does not answer, or a run that outlasts
``--deadline`` seconds, fails with the reason instead of retrying forever.
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


def start_server(db: str, port: int, seconds: float = 60.0) -> subprocess.Popen:
    """Start the server on ``db`` and ``port``; return once it answers (fail if it exits or stays silent)."""
    proc = subprocess.Popen([sys.executable, "-m", "core.feedback", "serve", "--no-generate", "--db", db,
                             "--port", str(port), "--overlap", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with code {proc.returncode} before answering")
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/progress", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server on port {port} did not answer within {seconds:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--per-client", type=int, default=100)
    ap.add_argument("--kill-after", type=int, default=700, help="acks before SIGKILL (0: no crash)")
    ap.add_argument("--deadline", type=float, default=600, help="seconds the clients may take in all")
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
    failures: list[str] = []
    lock, killed, restarting = threading.Lock(), threading.Event(), []
    deadline = time.monotonic() + a.deadline

    def retry(request):
        """``(request(), attempts)`` once a request succeeds; ``(None, attempts)`` once something failed or the
        deadline passed."""
        attempts = 0
        while not failures and time.monotonic() < deadline:
            attempts += 1
            try:
                return request(), attempts
            except httpx.HTTPError:
                time.sleep(0.2)
        return None, attempts

    def restart() -> None:
        try:
            server.append(start_server(db, port))
        except RuntimeError as exc:
            failures.append(f"restart: {exc}")

    def client(c: int) -> None:
        http = httpx.Client(base_url=base, timeout=10)
        key, _ = retry(lambda: http.post("/api/login", json={"name": f"rater{c}"}).json()["key"])
        for i in range(1, a.per_client + 1):
            if key is None:
                return
            body = {"uid": f"c{c}-j{i}-{os.getpid()}", "pair_id": i, "rater": f"rater{c}", "choice": "ab"[i % 2]}
            first = time.perf_counter()
            r, attempts = retry(lambda: http.post("/api/judgements", json=body, headers={"X-Rater-Key": key}))
            if r is None:
                return
            if r.status_code not in (200, 201):
                failures.append(f"client {c}: unexpected {r.status_code}: {r.text}")
                return
            with lock:
                acked.append(body["uid"])
                if attempts == 1:
                    latencies.append(time.perf_counter() - first)
                if a.kill_after and len(acked) == a.kill_after and not killed.is_set():
                    killed.set()
                    server[0].send_signal(signal.SIGKILL)
                    restarting.append(threading.Thread(target=restart))
                    restarting[0].start()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for t in restarting:  # the clients can finish on the new server before its start is confirmed
        t.join()
    wall = time.perf_counter() - start
    for proc in server:
        proc.kill()
        proc.wait()
    rows = sqlite3.connect(db).execute("SELECT uid FROM judgements").fetchall()
    stored = [r[0] for r in rows]
    expected = a.clients * a.per_client
    missing = set(acked) - set(stored)
    lat = sorted(latencies)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{a.clients} clients x {a.per_client} judgements; SIGKILL after {a.kill_after or 'never'}")
    print(f"stored {len(stored)} (expected {expected}), distinct {len(set(stored))}, acknowledged {len(acked)}, "
          f"acknowledged but missing {len(missing)}")
    if lat:
        print(f"wall {wall:.1f} s, {len(acked) / wall:.0f} judgements/s; latency p50 "
              f"{statistics.median(lat) * 1000:.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.1f} ms, "
              f"max {lat[-1] * 1000:.1f} ms (n={len(lat)})")
    if len(acked) < expected and not failures:
        failures.append(f"{expected - len(acked)} judgements not acknowledged within --deadline {a.deadline:g} s")
    ok = len(stored) == expected == len(set(stored)) and not missing and not failures
    print("OK: every acknowledged judgement stored exactly once" if ok
          else f"FAILED: {'; '.join(failures) or 'see above'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
