"""Hostile programs (tests/sandbox_corpus/*.py) against the real sandbox on this host.

Each corpus file starts with ``# expect: status[|status]`` and ``# why: ...``; the
program follows, then optionally ``# ---- test ----`` and its own test code (default:
``check(candidate)`` asserting ``candidate(2, 3) == 5`` with entry point ``add``, which
every corpus program gets wrong, so any pass would be forged). Placeholders
``{{SENTINEL}}``, ``{{SENTINEL_DIR}}``, ``{{SECRET}}``, ``{{SECRET_ENV}}``,
``{{SECRET_FILE}}``, ``{{PORT}}`` and ``{{TOKEN}}`` are filled in by the fixture.

All programs run in one batch, mixed with good programs, and then the host is checked:
sentinel files unchanged, no secret seen, no connection received, no process left
(by uid and by parentage), scratch and private temp dirs empty.
"""
from __future__ import annotations

import os
import pathlib
import secrets
import socket
import stat
import tempfile
import threading
import time

import pytest

from core.sandbox import Program, Sandbox, SandboxConfig

CORPUS = pathlib.Path(__file__).parent / "sandbox_corpus"
SPLIT = "# ---- test ----\n"
DEFAULT_TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
GOOD = Program("def add(a, b):\n    return a + b\n", DEFAULT_TEST, "add")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.isdir("/proc/self/ns"),
                                reason="the full isolation suite needs root on Linux")


def _load(path: pathlib.Path, values: dict) -> tuple[set[str], Program]:
    text = path.read_text()
    for key, value in values.items():
        text = text.replace("{{%s}}" % key, str(value))
    header = text.splitlines()[0]
    assert header.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    expect = set(header[len("# expect: "):].strip().split("|"))
    code, _, test = text.partition(SPLIT)
    return expect, Program(code, test or DEFAULT_TEST, "add")


def _uid_processes(uids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if set(map(int, line.split()[1:])) & uids:
                            found.append(int(entry))
                        break
        except OSError:
            pass
    return found


def _descendants(root: int) -> set[int]:
    """Pids of every live descendant of ``root`` (by walking /proc parent links)."""
    parent = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def _sysv_objects(pid: int) -> int:
    """Count SysV IPC objects in the IPC namespace of process ``pid``."""
    from core.sandbox import syscalls
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            syscalls.setns(os.open(f"/proc/{pid}/ns/ipc", os.O_RDONLY), syscalls.CLONE_NEWIPC)
            count = sum(len(open(f"/proc/sysvipc/{k}").read().splitlines()) - 1
                        for k in ("shm", "sem", "msg"))
            os.write(w, str(count).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    with os.fdopen(r) as fh:
        return int(fh.read() or -1)


def _tree(path: str) -> dict:
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            st = os.lstat(full)
            data = open(full, "rb").read() if stat.S_ISREG(st.st_mode) else b""
            out[full] = (st.st_mode, st.st_uid, st.st_size, data)
    return out


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """Sentinels (one in /run, visible to programs; one in a pytest tmp dir), a
    secret in the environment and a root-only file, and a loopback listener."""
    base = "/run" if os.path.isdir("/run") and os.access("/run", os.W_OK) else None
    sentinel_dir = tempfile.mkdtemp(prefix="rlft-sentinel-", dir=base)
    os.chmod(sentinel_dir, 0o755)
    sentinel = os.path.join(sentinel_dir, "sentinel.txt")
    with open(sentinel, "w") as fh:
        fh.write("untouched\n")
    os.chmod(sentinel, 0o644)
    secret = secrets.token_hex(16)
    secret_file = os.path.join(sentinel_dir, "secret.txt")
    with open(secret_file, "w") as fh:
        fh.write(secret)
    os.chmod(secret_file, 0o600)
    secret_env = f"RLFT_FAKE_SECRET_{secrets.token_hex(4).upper()}"
    os.environ[secret_env] = secret
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    values = {"SENTINEL": sentinel, "SENTINEL_DIR": sentinel_dir, "SECRET": secret,
              "SECRET_ENV": secret_env, "SECRET_FILE": secret_file,
              "PORT": listener.getsockname()[1], "TOKEN": f"rlft-{secrets.token_hex(6)}"}
    try:
        yield dict(values, listener=listener, tree=_tree(sentinel_dir))
    finally:
        os.environ.pop(secret_env, None)
        listener.close()
        for suffix in ("", ".moved"):
            if os.path.exists(sentinel_dir + suffix):
                import shutil
                shutil.rmtree(sentinel_dir + suffix)


@pytest.fixture(scope="module")
def outcome(host):
    """Run the corpus once, interleaved with good programs; snapshot the host after."""
    cases = {p.name: _load(p, host) for p in sorted(CORPUS.glob("*.py"))}
    cfg = SandboxConfig(workers=2, timeout_s=1.5, cpu_time_s=1, memory_mb=512,
                        max_processes=16, max_output_bytes=4096, max_file_mb=16)
    before = _descendants(os.getpid())
    sb = Sandbox(cfg)
    iso = sb.isolation
    assert iso.uid and iso.pidns and iso.netns and iso.mountns, (
        f"refusing to run hostile programs without full isolation: {iso.summary()}")
    uids = {w.uid for w in sb.workers}
    batch, names = [], []
    for name, (_, prog) in cases.items():
        batch += [prog, GOOD]
        names += [name, "<good>"]
    start = time.monotonic()
    results = sb.run(batch)
    elapsed = time.monotonic() - start
    time.sleep(0.3)  # anything that escaped would still be running now
    seen = {
        "uid_procs": _uid_processes(uids),
        "worker_children": {w.pid: _children(w.pid) for w in sb.workers},
        "private_tmp": {w.pid: sorted(os.listdir(f"/proc/{w.pid}/root{d}"))
                        for w in sb.workers for d in ("/tmp", "/var/tmp", "/dev/shm")},
        "workers": [w.pid for w in sb.workers],
        "sysv": {w.pid: _sysv_objects(w.pid) for w in sb.workers},
    }
    sb.close()
    seen["after_close"] = _uid_processes(uids) + [p for p in seen["workers"]
                                                  if os.path.exists(f"/proc/{p}")]
    seen["new_descendants"] = sorted(_descendants(os.getpid()) - before)
    return {"cases": cases, "results": dict(zip(names[::2], results[::2], strict=True)),
            "good": results[1::2], "seen": seen, "elapsed": elapsed}


def test_corpus_is_big_enough():
    assert len(list(CORPUS.glob("*.py"))) >= 30


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.py")))
def test_hostile_program_contained(outcome, name):
    expect, _ = outcome["cases"][name]
    result = outcome["results"][name]
    assert not result.passed, f"{name} scored a pass: {result}"
    assert result.status.value in expect, f"{name}: expected {expect}, got {result}"


def test_good_programs_unaffected(outcome):
    assert [r.status.value for r in outcome["good"]] == ["passed"] * len(outcome["good"])


def test_reasons_are_specific(outcome):
    r = outcome["results"]
    assert "before the tests" in r["sys_exit_early.py"].detail
    assert "exited with code 0" in r["os_exit_early.py"].detail
    assert "wall-clock" in r["infinite_loop.py"].detail
    assert "MemoryError" in r["memory_bomb.py"].detail
    assert "RecursionError" in r["deep_recursion.py"].detail
    assert "PermissionError" in r["write_outside.py"].detail
    assert "File too large" in r["file_size_bomb.py"].detail
    assert "SIGSEGV" in r["segfault.py"].detail
    assert "not plain data" in r["always_equal.py"].detail
    failed = r["redefine_check.py"]
    assert failed.test.startswith("line 2: assert candidate(2, 3) == 5")


def test_output_is_capped(outcome):
    for name in ("huge_stdout.py", "huge_stderr.py", "infinite_loop_output.py"):
        result = outcome["results"][name]
        assert result.truncated, name
        assert len(result.stdout) <= 4096 and len(result.stderr) <= 4096
    fake = outcome["results"]["print_fake_pass.py"]
    assert "All tests passed" in fake.stdout and "All tests passed" in fake.stderr


def test_host_files_untouched(outcome, host):
    assert _tree(host["SENTINEL_DIR"]) == host["tree"]
    assert not os.path.exists(host["SENTINEL_DIR"] + ".moved")
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        if os.path.isdir(d):
            assert not [f for f in os.listdir(d) if host["TOKEN"] in f], d


def test_no_secret_and_no_connection(outcome, host):
    for result in outcome["results"].values():
        assert host["SECRET"] not in result.stdout + result.stderr + result.detail
    with pytest.raises(BlockingIOError):
        host["listener"].accept()


def test_nothing_left_behind(outcome):
    seen = outcome["seen"]
    assert seen["uid_procs"] == [], "processes of a sandbox uid survived their sample"
    assert all(not kids for kids in seen["worker_children"].values())
    assert all(not files for files in seen["private_tmp"].values()), seen["private_tmp"]
    assert all(count == 0 for count in seen["sysv"].values()), seen["sysv"]
    assert seen["after_close"] == [], "something survived Sandbox.close()"
    assert seen["new_descendants"] == [], "the test process gained children"


def test_fork_bomb_really_capped():
    """Sample the number of tasks under the worker's uid while a fork bomb runs."""
    bomb = (CORPUS / "fork_bomb.py").read_text()
    with Sandbox(SandboxConfig(workers=1, timeout_s=1.5, max_processes=12)) as sb:
        uid = sb.workers[0].uid
        peak, stop = [0], threading.Event()

        def sample():
            while not stop.is_set():
                tasks = 0
                for pid in _uid_processes({uid}):
                    try:
                        tasks += len(os.listdir(f"/proc/{pid}/task"))
                    except OSError:
                        pass
                peak[0] = max(peak[0], tasks)
                time.sleep(0.005)

        watcher = threading.Thread(target=sample)
        watcher.start()
        [result] = sb.run([Program(bomb, DEFAULT_TEST, "add")])
        stop.set()
        watcher.join()
        assert result.status.value == "timeout"
        print(f"fork bomb: peak {peak[0]} tasks under the sandbox uid (cap 12)")
        assert 2 <= peak[0] <= 12, f"peak {peak[0]} tasks under the sandbox uid"
        assert _uid_processes({uid}) == []
