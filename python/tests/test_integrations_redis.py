# SPDX-License-Identifier: Apache-2.0
"""atomik_core.integrations.redis_adapter against a real redis-server
(private, on a free loopback port) through python3-redis."""
import pytest

from atomik_core.integrations.redis_adapter import AtomikRedisCache
from redis_fixture import redis_server  # noqa: F401  (fixture)

redis = pytest.importorskip("redis")


@pytest.fixture
def client(redis_server):  # noqa: F811
    c = redis.Redis(host="127.0.0.1", port=redis_server.port)
    yield c
    c.close()


class CountingClient:
    """Wraps the real client and counts the SETs that reach Redis."""

    def __init__(self, real):
        self.real, self.sets, self.fail_next = real, 0, False

    def get(self, key):
        return self.real.get(key)

    def set(self, key, value, **kw):
        if self.fail_next:
            self.fail_next = False
            raise redis.ConnectionError("injected")
        self.sets += 1
        return self.real.set(key, value, **kw)


def test_unchanged_values_are_not_written(client, rng):
    cc = CountingClient(client)
    cache = AtomikRedisCache(cc)
    assert cache.put("k", b'{"cart": 3}') is True
    assert cache.put("k", b'{"cart": 3}') is False
    assert cache.put("k", bytearray(b'{"cart": 3}')) is False
    assert cache.put("k", b'{"cart": 4}') is True
    assert client.get("k") == b'{"cart": 4}' and cache.get("k") == b'{"cart": 4}'
    assert cc.sets == 2
    assert cache.stats() == {"checks": 4, "writes": 2, "skipped": 2,
                             "skip_rate": "50.0%"}
    # Random workload against a model: a SET happens iff the value differs
    # from the last one written to that key.
    last, sets = {}, cc.sets
    for _ in range(300):
        key = "r%d" % rng.randrange(8)
        val = bytes([rng.randrange(3)]) * rng.randrange(1, 4)
        want = last.get(key) != val
        assert cache.put(key, val) is want
        sets += want
        last[key] = val
    assert cc.sets == sets
    for key, val in last.items():
        assert client.get(key) == val


def test_a_failed_write_is_retried(client):
    cc = CountingClient(client)
    cache = AtomikRedisCache(cc)
    cc.fail_next = True
    with pytest.raises(redis.ConnectionError):
        cache.put("k", b"v")
    assert "k" not in cache
    assert cache.put("k", b"v") is True and client.get("k") == b"v"


def test_forget_and_set_options(client):
    cache = AtomikRedisCache(client)
    cache.put("t", b"x", ex=100)
    assert 0 < client.ttl("t") <= 100
    client.set("t", b"changed behind its back")
    assert cache.put("t", b"x") is False          # cannot see other writers
    cache.forget("t")
    assert cache.put("t", b"x") is True and client.get("t") == b"x"


def test_bad_clients():
    with pytest.raises(ValueError):
        AtomikRedisCache(None)
    with pytest.raises(TypeError):
        AtomikRedisCache(object())
