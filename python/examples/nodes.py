# SPDX-License-Identifier: Apache-2.0
"""Three replicas from Python (atomik_core._net; mirrors `atomik node`).

Three in-process nodes on 127.0.0.1 (free ports) form a line a <- b <- c;
writes go to every node, some through a NodeClient as `atomik accum` sends
them; the example waits until every node holds the XOR of all deltas (same
digest), closes an epoch, restarts a node from its directory and checks it
recovered. Then four processes count into one shared-memory counter.
Exits 1 if anything disagrees.
"""
import os
import subprocess
import sys
import tempfile
import time

from atomik_core._net import Node, NodeClient, SharedContext

with tempfile.TemporaryDirectory() as tmp:
    a = Node(os.path.join(tmp, "a"))
    b = Node(os.path.join(tmp, "b"), peers=[a.listen_address])
    c = Node(os.path.join(tmp, "c"), peers=[b.listen_address])
    nodes = [a, b, c]
    model = {}
    for i in range(300):
        addr, delta = i % 16, (0x9E3779B97F4A7C15 * (i + 1)) & (2**64 - 1)
        nodes[i % 3].accum(addr, delta)
        model[addr] = model.get(addr, 0) ^ delta
    with NodeClient(c.listen_address) as client:  # what `atomik accum` does
        client.accum(99, 0xFF)
        model[99] = 0xFF
    want = {k: v for k, v in model.items() if v}
    deadline = time.monotonic() + 30
    while not all(n.snapshot() == want for n in nodes):
        if time.monotonic() > deadline:
            sys.exit("nodes did not converge")
        time.sleep(0.01)
    digests = {n.digest() for n in nodes}
    print("3 nodes converged on %d addresses, digest %s" % (len(want), digests.pop()))
    if digests:
        sys.exit("digests differ")
    epoch, states = b.swap()
    print("b closed epoch %d with %d states" % (epoch, len(states)))
    c.stop()
    c.start()  # recovers from its WAL and checkpoint
    if c.snapshot() != want:
        sys.exit("c lost state across a restart")
    print("c restarted from %s with every state" % os.path.basename(c.data_dir))
    for n in nodes:
        n.stop()

name = "/atomik-example-%d" % os.getpid()
counter = SharedContext.create(name, group="add")
try:
    code = ("from atomik_core._net import SharedContext\n"
            "c = SharedContext.open(%r, group='add')\n"
            "for _ in range(2500): c.accum(1)\n" % name)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    if any(p.wait() != 0 for p in procs):
        sys.exit("a counting process failed")
    print("4 processes counted %d into shared memory" % counter.read())
    if counter.read() != 10000:
        sys.exit("lost counts")
finally:
    SharedContext.unlink(name)
