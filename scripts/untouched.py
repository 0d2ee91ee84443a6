"""Run a command and fail if it touched a Redis it did not start.

    python scripts/untouched.py -- bash scripts/test.sh

Before the command, a "bystander" redis-server is started on a free port and given keys in several
databases, and the command's environment points ``GRADER_BROKER_URL`` and ``REDIS_URL`` at it, as a
user's shell might. The machine's own Redis (127.0.0.1:6379), if one answers, is only read (``INFO``).
After the command, the bystander must hold exactly the same keys and values and never have restarted,
and the machine's Redis must have the same run id and the same key counts. Uses only the standard
library: it runs before anything is installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BYSTANDER_DATA = {db: {f"user:data:{db}:{i}": f"value {db}-{i}" for i in range(5)} for db in (0, 3, 7, 10, 15)}


class Resp:
    """Just enough of the Redis protocol to read and write a few keys."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def call(self, *args: str) -> object:
        out = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        self.sock.sendall(out.encode())
        return self._read()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read(self) -> object:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                self.buffer += self.sock.recv(65536)
            data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
            return data.decode()
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


def _info(client: Resp) -> dict[str, str]:
    text = str(client.call("INFO"))
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def _contents(client: Resp) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for db in range(16):
        client.call("SELECT", str(db))
        keys = client.call("KEYS", "*")
        assert isinstance(keys, list)
        if keys:
            found[db] = {str(k): str(client.call("GET", str(k))) for k in keys}
    return found


def _machine_redis() -> dict[str, str] | None:
    """The machine Redis's run id and key counts, read only; None when nothing answers on 6379."""
    try:
        client = Resp(6379)
    except OSError:
        return None
    try:
        info = _info(client)
    except (OSError, RuntimeError):
        return None
    finally:
        client.close()
    # keys=N per database (avg_ttl moves by itself)
    return {k: v.split(",")[0] for k, v in info.items() if k == "run_id" or k.startswith("db")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[1:]
    binary = shutil.which("redis-server")
    if binary is None:
        print("untouched: redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="grader-bystander-"))
    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                               "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = Resp(port)
                client.call("PING")
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    print("untouched: the bystander redis-server did not start", file=sys.stderr)
                    return 2
                time.sleep(0.05)
        for db, pairs in BYSTANDER_DATA.items():
            client.call("SELECT", str(db))
            for key, value in pairs.items():
                client.call("SET", key, value)
        run_id = _info(client)["run_id"]
        client.close()
        machine = _machine_redis()

        env = {**os.environ, "GRADER_BROKER_URL": f"redis://127.0.0.1:{port}/0",
               "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        code = subprocess.call(command, env=env)

        problems = []
        try:
            client = Resp(port)
            after_id = _info(client)["run_id"]
            contents = _contents(client)
            client.close()
            if after_id != run_id:
                problems.append("the bystander Redis was restarted")
            if contents != BYSTANDER_DATA:
                problems.append("the bystander Redis's keys changed (flushed, deleted or written)")
        except OSError:
            problems.append("the bystander Redis was stopped")
        if machine is not None and _machine_redis() != machine:
            problems.append("the machine's Redis on 6379 was restarted or its keys changed")
        for problem in problems:
            print(f"untouched: {problem} during `{' '.join(command)}`", file=sys.stderr)
        if not problems:
            print("untouched: a Redis the command did not start (keys in databases "
                  f"{', '.join(map(str, BYSTANDER_DATA))}) is as it was", file=sys.stderr)
        return code if not problems else 1
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
