# SPDX-License-Identifier: Apache-2.0
# cython: language_level=3
# Declarations of the atomik C++ API used by _net.pyx (atomik_core._net,
# which cimports them all):
# the node, its client, Redis replication, shared-memory contexts, LWW
# registers and counters. The C++ headers are the reference.

from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector

from _atomik cimport Status


cdef extern from "atomik/context.hpp" namespace "atomik" nogil:
    cdef cppclass Counter64 "atomik::Counter64":
        Counter64()
        Counter64(uint64_t)
        void load(uint64_t)
        void accum(uint64_t)
        void rollback(uint64_t)
        uint64_t read()
        uint64_t swap()
        uint64_t swap(uint64_t)
        void merge(const Counter64&)
        void reset()
        uint64_t accumulator()
        uint64_t reference()
        uint64_t delta_count()


cdef extern from "atomik/lww.hpp" namespace "atomik" nogil:
    cdef cppclass CLwwWrite "atomik::LwwWrite":
        uint32_t addr
        uint64_t value
        uint64_t timestamp
        uint64_t origin

    cdef cppclass CLwwTable "atomik::LwwTable":
        pass


cdef extern from "atomik/node.hpp" namespace "atomik" nogil:
    cdef cppclass CNode "atomik::Node":
        Status accum(uint32_t, uint64_t) except +
        Status sync() except +
        uint64_t origin()
        string listen_address() except +
        unsigned short port()
        const string& data_dir()
        vector[pair[uint32_t, uint64_t]] snapshot() except +
        Status stop() except +

    cdef cppclass CNodeClient "atomik::NodeClient":
        Status accum(uint32_t, uint64_t) except +


cdef extern from "atomik/redis.hpp" namespace "atomik" nogil:
    cdef cppclass CRedisReplicator "atomik::RedisReplicator":
        Status accum(uint32_t, uint64_t) except +
        uint64_t unpublished()
        Status wait_published(uint32_t) except +
        Status publish_snapshot(cbool) except +
        cbool connected()
        string status_json() except +
        uint64_t origin()
        const string& data_dir()
        Status stop() except +


cdef extern from "net_glue.hpp" namespace "atomik::python" nogil:
    cdef cppclass NodeConfig:
        NodeConfig()
        string data_dir
        string listen
        vector[string] peers
        string key
        cbool udp
        uint64_t num_contexts
        cbool add
        int sync
        uint64_t origin
        uint32_t sync_interval_ms
        uint32_t reconnect_min_ms
        uint32_t reconnect_max_ms
        cbool log

    Status key_file_read(const string&, string*) except +
    CNode* node_start(const NodeConfig&, Status*) except +
    string node_status_json(const CNode&) except +
    string node_status_text(const CNode&) except +

    CNodeClient* client_connect(const string&, const string&, uint32_t,
                                Status*) except +
    Status client_read(CNodeClient&, uint32_t, uint64_t*) except +
    Status client_swap(CNodeClient&, uint64_t*) except +
    Status client_status(CNodeClient&, cbool, string*) except +
    Status client_digest(CNodeClient&, string*) except +

    cdef cppclass RedisConfig:
        RedisConfig()
        string url
        string table
        uint32_t shards
        uint32_t block_ms
        uint32_t start_timeout_ms
        cbool bootstrap
        cbool log

    CRedisReplicator* redis_start(const string&, uint64_t, int, uint64_t,
                                  const RedisConfig&, Status*) except +
    CRedisReplicator* redis_start_node(const NodeConfig&, const RedisConfig&,
                                       Status*) except +
    string redis_listen_address(const CRedisReplicator&) except +

    # Node and RedisReplicator answer these alike (one overload each).
    Status replica_accum_batch(CNode&, const uint32_t*, const uint64_t*,
                               size_t) except +
    Status replica_accum_batch(CRedisReplicator&, const uint32_t*,
                               const uint64_t*, size_t) except +
    Status replica_read(const CNode&, uint32_t, uint64_t*) except +
    Status replica_read(const CRedisReplicator&, uint32_t, uint64_t*) except +
    Status replica_swap(CNode&, uint64_t*,
                        vector[pair[uint32_t, uint64_t]]*) except +
    Status replica_swap(CRedisReplicator&, uint64_t*,
                        vector[pair[uint32_t, uint64_t]]*) except +
    Status replica_snapshot(const CNode&,
                            vector[pair[uint32_t, uint64_t]]*) except +
    Status replica_snapshot(const CRedisReplicator&,
                            vector[pair[uint32_t, uint64_t]]*) except +
    string replica_digest(const CNode&) except +
    string replica_digest(const CRedisReplicator&) except +
    vector[pair[uint64_t, uint64_t]] replica_version_vector(
        const CNode&) except +
    vector[pair[uint64_t, uint64_t]] replica_version_vector(
        const CRedisReplicator&) except +

    cdef cppclass SharedHandle:
        void accum(uint64_t)
        void rollback(uint64_t)
        Status read(uint64_t*)
        Status swap(cbool, uint64_t, uint64_t*)
        Status load(uint64_t)
        Status reference(uint64_t*)
        Status delta_count(uint64_t*)
        size_t max_writers()
        cbool has_own_cell()

    SharedHandle* shared_open(cbool, const string&, int, cbool, uint64_t,
                              size_t, Status*) except +
    Status shared_unlink(const string&) except +

    CLwwTable* lww_new(uint64_t) except +
    CLwwWrite lww_put(CLwwTable&, uint32_t, uint64_t, uint64_t) except +
    cbool lww_merge(CLwwTable&, uint32_t, uint64_t, uint64_t, uint64_t) except +
    cbool lww_get(const CLwwTable&, uint32_t, uint64_t*) except +
    vector[CLwwWrite] lww_registers(const CLwwTable&) except +
