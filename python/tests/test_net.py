# SPDX-License-Identifier: Apache-2.0
"""atomik_core._net: Node, NodeClient, RedisReplicator, SharedContext,
LwwTable and Counter. Nodes listen on 127.0.0.1 with free ports; waits for
replication poll a condition with a bounded deadline."""
import copy
import os
import pickle
import socket
import subprocess
import sys
import threading
import time

import pytest

from atomik_core._net import (DEFAULT_NODE_ADDRESS, NODE_KEY_SIZE, Counter,
                              LwwTable, LwwWrite, Node, NodeClient,
                              RedisReplicator, SharedContext, read_key_file)
from redis_fixture import redis_server  # noqa: F401  (fixture)

MASK = (1 << 64) - 1


def wait_for(cond, what, timeout=20.0):
    """Polls cond() until true; fails naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for " + what)
        time.sleep(0.005)


# --------------------------------------------------------------------------
# Node and NodeClient


def test_two_nodes_converge(tmp_path, rng):
    with Node(tmp_path / "a") as a, \
            Node(tmp_path / "b", peers=[a.listen_address]) as b:
        model = {}
        for _ in range(50):
            addr, delta = rng.randrange(64), rng.getrandbits(64)
            (a if rng.random() < 0.5 else b).accum(addr, delta)
            model[addr] = model.get(addr, 0) ^ delta
        model = {k: v for k, v in model.items() if v}
        wait_for(lambda: a.digest() == b.digest()
                 and a.snapshot() == model == b.snapshot(), "convergence")
        for addr in range(64):
            assert a.read(addr) == b.read(addr) == model.get(addr, 0)
        assert a.version_vector() == b.version_vector()
        st = a.status()
        assert st["listen"] == a.listen_address
        assert st["stats"]["deltas_local"] >= 1
        assert "origin" in a.status_text()


def test_udp_nodes_converge(tmp_path):
    with Node(tmp_path / "a", udp=True) as a, \
            Node(tmp_path / "b", udp=True, peers=[a.listen_address]) as b:
        for i in range(20):
            a.accum(i, i + 1)
            b.accum(i, (i + 1) << 8)
        want = {i: (i + 1) | ((i + 1) << 8) for i in range(20)}
        wait_for(lambda: a.snapshot() == want == b.snapshot(), "convergence")


def test_client_accum_read_swap_status(tmp_path):
    with Node(tmp_path / "n") as n:
        with NodeClient(n.listen_address) as c:
            c.accum(3, 0xF0)
            c.accum(3, 0x0F)
            c.accum(4, 1)
            assert c.read(3) == 0xFF and n.read(3) == 0xFF
            assert c.read(99) == 0
            assert c.digest() == n.digest()
            assert c.status()["origin"] == n.status()["origin"]
            assert c.swap() == 1                  # the first epoch closed
            assert c.swap() == 2
            assert c.read(3) == 0xFF              # swap keeps the state
        assert c.closed
        with pytest.raises(RuntimeError):
            c.read(3)
        epoch, states = n.swap()
        assert epoch == 3 and states == {3: 0xFF, 4: 1}


def test_node_state_survives_restart(tmp_path):
    n = Node(tmp_path / "n", num_contexts=16)
    n.accum_batch([(1, 5), (2, 6)])
    n.accum_batch({1: 3})
    origin = n.origin
    n.stop()
    n.stop()                                      # idempotent
    assert not n.running
    with pytest.raises(RuntimeError):
        n.read(1)
    n.start()
    # No peer to ask for its mark of our origin: a new incarnation, so no
    # (origin, seq) is ever reused (docs/design.md "Incarnations").
    assert n.snapshot() == {1: 6, 2: 6} and n.origin != origin
    with pytest.raises(RuntimeError):
        n.start()                                 # already running
    n.stop()


def test_node_errors(tmp_path):
    with Node(tmp_path / "d", num_contexts=8) as n:
        with pytest.raises(IndexError):
            n.accum(8, 1)                         # dense: 0..7
        with pytest.raises(IndexError):
            n.accum(-1, 1)
        with pytest.raises(OverflowError):
            n.accum(1, 1 << 64)
        with pytest.raises(IndexError):
            n.accum_batch([(0, 1), (9, 1)])       # all or nothing
        assert n.read(0) == 0
    with pytest.raises(ValueError):
        Node(tmp_path / "k", key=b"short")
    with pytest.raises(ValueError):
        Node(tmp_path / "s", sync="sometimes")
    with pytest.raises(TypeError):
        Node(tmp_path / "p", peers="127.0.0.1:1")
    with pytest.raises(ValueError):
        Node(tmp_path / "l", listen="no-port")


def test_client_defaults():
    # The CLI's default node address (docs/cli.md) and the shared key's
    # size (docs/format/node_protocol.md).
    assert DEFAULT_NODE_ADDRESS == "127.0.0.1:7400"
    assert NODE_KEY_SIZE == 32


def test_client_without_a_node(tmp_path):
    with socket.socket() as s:                    # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError):
        NodeClient("127.0.0.1:%d" % port, timeout_ms=2000)


def test_keyed_node_refuses_other_keys(tmp_path):
    key = bytes(range(32))
    with Node(tmp_path / "k", key=key) as n:
        with NodeClient(n.listen_address, key=key.hex()) as c:
            c.accum(1, 1)
            assert c.read(1) == 1
        with pytest.raises((RuntimeError, ConnectionError)):
            NodeClient(n.listen_address, key=bytes(32), timeout_ms=2000)


def test_read_key_file(tmp_path):
    raw = bytes(range(100, 132))
    (tmp_path / "raw").write_bytes(raw)
    (tmp_path / "hex").write_text("  " + raw.hex() + "\n")
    (tmp_path / "bad").write_text("abc")
    assert read_key_file(tmp_path / "raw") == raw
    assert len(raw) == NODE_KEY_SIZE
    assert read_key_file(str(tmp_path / "hex")) == raw
    with pytest.raises(ValueError):
        read_key_file(tmp_path / "bad")
    with pytest.raises((FileNotFoundError, OSError)):
        read_key_file(tmp_path / "missing")
    with Node(tmp_path / "n", key=read_key_file(tmp_path / "hex")) as n:
        with NodeClient(n.listen_address, key=raw) as c:
            assert c.read(0) == 0


def test_client_call_releases_the_gil():
    # A listener that accepts and never answers: the client's handshake
    # blocks in C++. This thread can only run (accept, check the client is
    # still waiting, close) if that wait released the GIL; otherwise it
    # would resume only after the 60 s timeout, with the client finished.
    with socket.socket() as lst:
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        result = []

        def connect():
            try:
                NodeClient("127.0.0.1:%d" % lst.getsockname()[1],
                           timeout_ms=60000)
                result.append("connected")
            except Exception as e:  # noqa: BLE001 - recorded for the assert
                result.append(e)

        t = threading.Thread(target=connect)
        t.start()
        conn, _ = lst.accept()
        still_waiting = t.is_alive() and not result
        conn.close()
        t.join(60)
    assert still_waiting
    assert isinstance(result[0], Exception)


def test_node_calls_from_threads(tmp_path):
    with Node(tmp_path / "t", sync="none") as n:
        def work(base):
            for i in range(200):
                n.accum(base + i % 8, 1 << (i % 64))
        ts = [threading.Thread(target=work, args=(k * 8,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        model = {}
        for k in range(4):
            for i in range(200):
                a = k * 8 + i % 8
                model[a] = model.get(a, 0) ^ (1 << (i % 64))
        assert n.snapshot() == {a: v for a, v in model.items() if v}


# --------------------------------------------------------------------------
# RedisReplicator


def test_redis_replicators_converge(tmp_path, redis_server):  # noqa: F811
    a = RedisReplicator(tmp_path / "a", redis_server.url, table="t")
    b = RedisReplicator(tmp_path / "b", redis_server.url, table="t")
    try:
        a.accum(1, 0xAA)
        b.accum_batch([(1, 0x0F), (2, 7)])
        a.wait_published(10000)
        b.wait_published(10000)
        assert a.unpublished == 0 and a.connected
        want = {1: 0xAA ^ 0x0F, 2: 7}
        wait_for(lambda: a.snapshot() == want == b.snapshot(),
                 "redis convergence")
        assert a.digest() == b.digest() and a.read(2) == 7
        # The reader thread counts a frame's deltas just after applying
        # them, so the counters may trail the state by one frame: wait.
        applied = lambda r: r.status()["stats"]["deltas_applied"]  # noqa: E731
        wait_for(lambda: applied(a) >= 2 and applied(b) >= 1, "redis stats")
        st_a, st_b = a.status(), b.status()
        assert st_a["stats"]["deltas_applied"] == 2      # b's two deltas
        assert st_b["stats"]["deltas_applied"] == 1      # a's one
        assert st_a["stats"]["deltas_local"] == 1 and st_a["connected"]
        a.publish_snapshot()
    finally:
        a.stop()
        b.stop()
    # A new replica bootstraps from the snapshot and the stream.
    with RedisReplicator(tmp_path / "c", redis_server.url, table="t") as c:
        wait_for(lambda: c.snapshot() == want, "bootstrap")
    with pytest.raises(RuntimeError):
        c.read(1)


def test_redis_node_serves_clients(tmp_path, redis_server):  # noqa: F811
    # What `atomik node --redis` runs: a node whose deltas also go through
    # Redis, serving NodeClients on its listen address.
    with RedisReplicator(tmp_path / "n", redis_server.url, table="t",
                         listen="127.0.0.1:0") as rn, \
            RedisReplicator(tmp_path / "p", redis_server.url,
                            table="t") as plain:
        assert rn.listen_address.startswith("127.0.0.1:")
        assert plain.listen_address is None
        with NodeClient(rn.listen_address) as c:
            c.accum(5, 0x55)
            assert c.read(5) == 0x55 and rn.read(5) == 0x55
            plain.accum(6, 0x66)
            wait_for(lambda: plain.read(5) == 0x55 and c.read(6) == 0x66,
                     "both directions through Redis")
            assert "redis" in c.status()
    with pytest.raises(ValueError):
        RedisReplicator(tmp_path / "q", redis_server.url, peers=["x:1"])


def test_redis_replicator_without_redis(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError):
        RedisReplicator(tmp_path / "x", "redis://127.0.0.1:%d/0" % port,
                        start_timeout_ms=500)


# --------------------------------------------------------------------------
# SharedContext


@pytest.fixture
def shm_name(rng):
    name = "/atomik-pytest-%d-%d" % (os.getpid(), rng.getrandbits(32))
    yield name
    try:
        SharedContext.unlink(name)
    except FileNotFoundError:
        pass


def test_shared_counter_across_processes(shm_name):
    ctr = SharedContext.create(shm_name, 10, group="add")
    code = ("from atomik_core._net import SharedContext as S\n"
            "c = S.open(%r, group='add')\n"
            "for _ in range(1000): c.accum(1)\n" % shm_name)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    for p in procs:
        assert p.wait(120) == 0
    ctr.accum(5)
    assert ctr.read() == 10 + 3000 + 5
    assert ctr.delta_count == 3001
    assert ctr.swap() == 3015 and ctr.reference == 3015 and ctr.read() == 3015
    ctr.rollback(15)
    assert ctr.read() == 3000


def test_shared_xor_context_and_checks(shm_name):
    a = SharedContext.create(shm_name, 0xF0, width=8)
    b = SharedContext.open(shm_name, width=8)
    a.accum(0x0F)
    b.accum(0x01)
    assert a.read() == b.read() == 0xFE
    assert b.swap(0x11) == 0xFE and a.read() == 0x11
    b.load(0x22)
    assert a.read() == 0x22 and a.delta_count == 0
    with pytest.raises(OverflowError):
        a.accum(0x100)                             # 8 bits
    with pytest.raises(Exception):
        SharedContext.open(shm_name, width=64)     # created with width 8
    with pytest.raises(Exception):
        SharedContext.open(shm_name, width=8, group="add")
    with pytest.raises(Exception):
        SharedContext.create(shm_name, width=8)    # exists
    with pytest.raises(ValueError):
        SharedContext.create(shm_name + "w", width=12)
    with pytest.raises(TypeError):
        SharedContext()
    with pytest.raises(RuntimeError):
        SharedContext.__new__(SharedContext).read()     # never attached
    SharedContext.unlink(shm_name)
    with pytest.raises(FileNotFoundError):
        SharedContext.open(shm_name, width=8)
    assert a.read() == 0x22                        # attached ones keep working


def test_shared_attributes_and_writer_cells(shm_name):
    a = SharedContext.create(shm_name, 0, width=16, group="add", max_writers=1)
    assert (a.name, a.width, a.group, a.max_writers) == (shm_name, 16, "add", 1)
    assert a.has_own_cell                          # the segment's only cell
    b = SharedContext.open(shm_name, width=16, group="add")
    assert b.max_writers == 1 and (b.name, b.width, b.group) == (a.name, 16, "add")
    assert not b.has_own_cell                      # shares the fallback cell
    for _ in range(5):
        b.accum(1)                                 # under the segment lock
    a.accum(0xFFFF)                                # -1 mod 2^16
    assert a.read() == b.read() == 4 and b.delta_count == 6
    assert repr(b) == "SharedContext(%r, width=16, group='add')" % shm_name


# --------------------------------------------------------------------------
# Counter and LwwTable


def test_counter_counts(rng):
    c = Counter(100)
    c.add()
    c.add(1)
    c.sub(3)
    assert c.read() == 99 and int(c) == 99 and c.delta_count == 3
    c.sub(200)
    assert c.value_signed() == -101 and c.read() == (-101) & MASK
    model, k = 0, Counter()
    for _ in range(1000):
        n = rng.getrandbits(64)
        if rng.random() < 0.5:
            k.add(n)
            model += n
        else:
            k.sub(n)
            model -= n
    assert k.read() == model & MASK
    other = Counter()
    other.add(7)
    k.merge(other)
    assert k.read() == (model + 7) & MASK
    assert k.swap() == (model + 7) & MASK and k.accumulator == 0
    k.add(1)
    k.reset()
    assert k.read() == 0 and k.reference == 0 and k.delta_count == 0
    with pytest.raises(OverflowError):
        c.add(-1)


def test_module_names_pickle_and_copy(tmp_path, rng):
    import atomik_core
    import atomik_core._net as net
    # The module's qualified name (cython --module-name): pickle finds the
    # classes by it, and the package re-exports the same objects.
    assert net.__name__ == "atomik_core._net"
    for name in net.__all__:
        obj = getattr(net, name)
        assert getattr(atomik_core, name) is obj
        if callable(obj):
            assert obj.__module__ == "atomik_core._net", name
    # Values pickle and copy with their whole state.
    c = Counter(rng.getrandbits(64))
    for _ in range(rng.randrange(1, 50)):
        c.add(rng.getrandbits(64))
    for d in (pickle.loads(pickle.dumps(c)), copy.copy(c), copy.deepcopy(c)):
        assert type(d) is Counter and d is not c
        assert (d.reference, d.accumulator, d.delta_count) == \
            (c.reference, c.accumulator, c.delta_count)
    fresh = pickle.loads(pickle.dumps(Counter(5)))
    assert (fresh.reference, fresh.accumulator, fresh.delta_count) == (5, 0, 0)
    w = LwwTable(3).put(7, 0xAB, wall_ns=1000)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(w, proto)) == w
    assert type(copy.copy(w)) is LwwWrite and copy.deepcopy(w) == w
    assert repr(w) == "LwwWrite(addr=7, value=0xab, timestamp=1000, origin=0x3)"
    assert eval(repr(Counter(9)), {"Counter": Counter}) == Counter(9)
    # Resources (a running node, a shared-memory attachment, the C++ table
    # of LwwTable) do not pickle: TypeError, never a half-copied object.
    with Node(tmp_path / "p") as n:
        assert repr(n) == "Node(%r, listen=%r)" % (n.data_dir, n.listen_address)
        with pytest.raises(TypeError):
            pickle.dumps(n)
    with pytest.raises(TypeError):
        pickle.dumps(LwwTable(1))


def test_lww_replicas_agree_in_any_order(rng):
    tables = [LwwTable(o) for o in (1, 2, 3)]
    writes = []
    for i in range(300):
        t = rng.choice(tables)
        writes.append(t.put(rng.randrange(16), rng.getrandbits(64),
                            wall_ns=rng.randrange(1, 50)))
    # Reference model: the write with the largest (timestamp, origin) wins.
    best = {}
    for w in writes:
        if w.addr not in best or (w.timestamp, w.origin) > \
                (best[w.addr].timestamp, best[w.addr].origin):
            best[w.addr] = w
    for _ in range(3):
        r = LwwTable(9)
        order = writes[:]
        rng.shuffle(order)
        for w in order:
            r.merge(w)
        assert r.snapshot() == {a: w.value for a, w in best.items()}
        assert r.writes() == sorted(best.values())
    assert tables[0].get(999) is None and tables[0].get(999, 0) == 0


def test_lww_clock_never_goes_back():
    t = LwwTable(5)
    w1 = t.put(1, 10, wall_ns=100)
    w2 = t.put(1, 11, wall_ns=50)                 # wall clock stepped back
    assert w2.timestamp > w1.timestamp and t.get(1) == 11
    assert isinstance(w2, LwwWrite) and w2.origin == 5
    assert t.merge((1, 12, w2.timestamp, 4)) is False   # same time, lower origin
    assert t.merge((1, 12, w2.timestamp, 6)) is True
    assert t.get(1) == 12 and len(t) == 1
