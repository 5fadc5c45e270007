"""Real services for the tests, on loopback only: Debian's redis-server and PostgreSQL
(installed by `make test-python`), each in a temp dir on a free port, stopped afterwards."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Callable, Iterator, List


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds} s")
        time.sleep(0.05)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def start_redis() -> Iterator[str]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _redis_answers(port), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def postgres_bin(name: str) -> str:
    """Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin, off the PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package (make test-python does)")
    return on_path


def _as_server_user(command: List[str]) -> List[str]:
    # PostgreSQL refuses to run as root: run it as the "postgres" user the package creates.
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def start_postgres() -> Iterator[int]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="telhook-pg-") as root:
        data = os.path.join(root, "data")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        subprocess.run(
            _as_server_user([postgres_bin("initdb"), "-D", data, "-U", "telhook", "--auth=trust", "-E", "UTF8",
                             "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=60"
        subprocess.run(
            _as_server_user([postgres_bin("pg_ctl"), "-D", data, "-o", options, "-l", os.path.join(root, "log"),
                             "-w", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )
        try:
            yield port
        finally:
            subprocess.run(
                _as_server_user([postgres_bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]),
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
