# SPDX-License-Identifier: Apache-2.0
# cython: language_level=3, boundscheck=False, wraparound=False
# distutils: language = c++
"""atomik_core._net: the node, its client, Redis replication, shared-memory
contexts, last-writer-wins registers and counters, over the C++ engine.

Every call that can block (network, disk, a lock shared with other
processes) releases the GIL, so other Python threads keep running while a
node syncs, a client waits for its acknowledgement or Redis answers.

Errors map as in atomik_core: ValueError (bad argument), IndexError (address
out of range), ConnectionError (nothing answers), RuntimeError (wrong state,
e.g. a closed client), FileNotFoundError, OSError, CorruptionError. A failed
call changes nothing.
"""

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector

from _atomik cimport Status, status_code, status_message
from _net_decl cimport *

import json as _json
import os as _os
import threading as _threading
import time as _time

__all__ = [
    "Counter",
    "LwwTable",
    "LwwWrite",
    "Node",
    "NodeClient",
    "RedisReplicator",
    "SharedContext",
    "DEFAULT_NODE_ADDRESS",
    "NODE_KEY_SIZE",
    "read_key_file",
]

#: The CLI's default node address (atomik node / atomik accum ...).
DEFAULT_NODE_ADDRESS = "127.0.0.1:7400"
#: Length in bytes of a node's shared key.
NODE_KEY_SIZE = 32

cdef object _MASK64 = 0xFFFFFFFFFFFFFFFF
_SYNC = {"every-record": 0, "group": 1, "none": 2}

# The module is split by class into .pxi files, included in this order.
include "_net_convert.pxi"
include "_net_replica.pxi"
include "_net_node.pxi"
include "_net_client.pxi"
include "_net_redis.pxi"
include "_net_shared.pxi"
include "_net_lww.pxi"
include "_net_counter.pxi"
