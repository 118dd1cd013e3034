# SPDX-License-Identifier: Apache-2.0
"""atomik_core: delta-state algebra on the atomik C++ engine.

A drop-in replacement for the reference package ``atomik_core`` (v0.4.0),
laid out like it: the submodules context, table, stream, fingerprint, sync,
transport, persistent, benchmark, device and ``__main__`` hold the same
names. Everything computes in the compiled core, ``atomik_core._core``
(a Cython extension over the C++ library); the submodules re-export from
it. The second compiled module, ``atomik_core._net`` (Node, NodeClient,
RedisReplicator, SharedContext, LwwTable, Counter), and the asyncio and
WebSocket classes (async_transport, websocket) are re-exported here too;
the integrations live in ``atomik_core.integrations``. The deliberate
differences from the reference are listed in docs/python.md and in each
class's docstring.

Quick start::

    from atomik_core import AtomikContext
    ctx = AtomikContext()
    ctx.load(0xDEADBEEF)
    ctx.accum(0x000000FF)
    assert ctx.read() == 0xDEADBE10
"""

from ._core import *  # noqa: F401,F403  (the compiled core: every class)
from ._core import __all__ as _core_all
from ._core import __version__  # noqa: F401  (the C++ library's version)
from .benchmark import (  # noqa: F401
    bench_bandwidth,
    bench_change_detection,
    bench_convergence,
    bench_rollback,
    bench_throughput,
)
from .device import DeviceContext, DeviceTable  # noqa: F401
from .persistent import import_reference_wal  # noqa: F401

# Nodes, clients, Redis replication, shared memory, counters and LWW
# registers (the second compiled module), then the pure-Python modules built
# on the names above: they import from this package, so they come last.
from ._net import *  # noqa: F401,F403,E402
from ._net import __all__ as _net_all  # noqa: E402
from .async_transport import AsyncCallbackTransport, AsyncSyncTable  # noqa: E402,F401
from .websocket import WebSocketHandle  # noqa: E402,F401

__all__ = list(_core_all) + [
    "bench_rollback",
    "bench_change_detection",
    "bench_convergence",
    "bench_bandwidth",
    "bench_throughput",
    "DeviceContext",
    "DeviceTable",
    "import_reference_wal",
    "AsyncCallbackTransport",
    "AsyncSyncTable",
    "WebSocketHandle",
] + list(_net_all)
