# SPDX-License-Identifier: Apache-2.0
"""A private redis-server for the Python tests: free loopback port, its own
temporary directory, no persistence; stopped (SIGTERM, then SIGKILL) at the
end. Skips the test when redis-server is not installed.

    from redis_fixture import redis_server   # noqa: F401  (the fixture)

    def test_x(redis_server):
        redis_server.url   # "redis://127.0.0.1:PORT/0"
"""
import shutil
import socket
import subprocess
import time

import pytest


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, tmp_dir):
        self.dir = tmp_dir
        self.proc = None
        self.port = 0

    def start(self):
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server not installed (apt-get install redis-server)")
        log = open(self.dir / "redis.log", "wb")
        for _ in range(8):            # another process may take the port
            self.port = free_port()
            self.proc = subprocess.Popen(
                [exe, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if _ping(self.port):
                    return self
                time.sleep(0.01)      # polling for readiness, bounded
            self.stop()
        raise RuntimeError("redis-server did not start: see %s/redis.log"
                           % self.dir)

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    d = tmp_path / "redis"
    d.mkdir()
    srv = RedisServer(d).start()
    yield srv
    srv.stop()
