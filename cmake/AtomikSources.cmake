# SPDX-License-Identifier: Apache-2.0
# The library's files, one block per subsystem (no globs): its sources, its
# public headers (include/atomik/, relative) and its private headers (src/,
# relative). Includes point one way: transport -> storage -> sync -> codec ->
# core. The subsystems make four layer libraries (cmake/AtomikLayers.cmake):
#   atomik::core     core + codec + sync  (no asio, libsodium or hiredis)
#   atomik::storage  storage
#   atomik::net      transport: node, TCP/UDP client (asio + libsodium)
#   atomik::redis    transport: Redis Streams (hiredis)
# A header listed here is visible only to its own layer and the layers above
# it; a new file must be added to its block.
set(ATOMIK_CORE_SOURCES
  src/core/status.cpp
  src/core/log.cpp
  src/core/huge_pages.cpp
  src/core/concurrent_context.cpp
  src/core/shared_context.cpp
  src/core/fingerprint.cpp
  src/core/fingerprint_kernel_scalar.cpp
  src/core/fingerprint_kernel_sse2.cpp
  src/core/fingerprint_kernel_avx2.cpp
)
set(ATOMIK_CORE_HEADERS
  export.h status.hpp log.hpp word.hpp group.hpp context.hpp concurrent_context.hpp
  fan_in_cell.hpp shared_context.hpp fingerprint.hpp table.hpp undo.hpp
  types.hpp
)
set(ATOMIK_CORE_PRIVATE_HEADERS
  core/fingerprint_kernel.hpp core/fingerprint_kernel_impl.inc
)
# Fingerprint: only the AVX2 kernel is built with -mavx2; it runs only after
# a runtime __builtin_cpu_supports("avx2") check.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set_source_files_properties(src/core/fingerprint_kernel_avx2.cpp
                              PROPERTIES COMPILE_OPTIONS "-mavx2")
endif()
# GCC 12 pairs two 64-bit stores of a 128-bit value with one 16-byte load
# (a store-forwarding stall, ~8 ns per call); measured in fingerprint_bench.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set_source_files_properties(src/core/fingerprint.cpp
                              PROPERTIES COMPILE_OPTIONS "-fno-tree-slp-vectorize")
endif()

set(ATOMIK_CODEC_SOURCES
  src/codec/message.cpp
  src/codec/frame.cpp
  src/codec/hex.cpp
)
set(ATOMIK_CODEC_HEADERS message.hpp frame.hpp lww.hpp)
set(ATOMIK_CODEC_PRIVATE_HEADERS codec/byte_order.hpp codec/hex.hpp
                                 codec/checksum.hpp)

set(ATOMIK_SYNC_SOURCES
  src/sync/stream.cpp
  src/sync/snapshot_codec.cpp
  src/sync/origin.cpp
)
set(ATOMIK_SYNC_HEADERS stream.hpp)
set(ATOMIK_SYNC_PRIVATE_HEADERS sync/digest_hash.hpp sync/origin.hpp)

set(ATOMIK_STORAGE_SOURCES
  src/storage/file.cpp
  src/storage/wal_record.cpp
  src/storage/wal_writer.cpp
  src/storage/wal_reader.cpp
  src/storage/checkpoint.cpp
  src/storage/table_shape.cpp
  src/storage/persistent_table.cpp
  src/storage/persistent_recover.cpp
  src/storage/replica.cpp
)
set(ATOMIK_STORAGE_HEADERS table_shape.hpp file.hpp wal.hpp checkpoint.hpp persistent_table.hpp
                           replica.hpp)
set(ATOMIK_STORAGE_PRIVATE_HEADERS storage/wal_record.hpp storage/wal_scan.hpp
  storage/group_table.hpp storage/persistent_table_impl.hpp)

# Nodes over TCP/UDP. atomik.hpp (every header but redis.hpp) sits here, the
# highest layer it includes.
set(ATOMIK_NET_SOURCES
  src/transport/packet.cpp
  src/transport/node.cpp
  src/transport/node_connection.cpp
  src/transport/node_incarnation.cpp
  src/transport/node_udp.cpp
  src/transport/node_status.cpp
  src/transport/node_metrics.cpp  # NodeStatus::to_prometheus
  src/transport/client.cpp
  src/transport/resolve.cpp  # host names for --listen/--peer
)
set(ATOMIK_NET_HEADERS node.hpp atomik.hpp)
set(ATOMIK_NET_PRIVATE_HEADERS transport/packet.hpp transport/resolve.hpp
                               transport/node_impl.hpp transport/node_stats_fields.hpp
                               transport/prometheus_text.hpp)

# Redis Streams: its own library, so only its users link hiredis.
set(ATOMIK_REDIS_SOURCES
  src/transport/redis_client.cpp
  src/transport/redis_format.cpp
  src/transport/redis_replicator.cpp
  src/transport/redis_startup.cpp
  src/transport/redis_outbox.cpp
  src/transport/redis_publish.cpp
  src/transport/redis_read.cpp
  src/transport/redis_state_file.cpp
  src/transport/redis_status.cpp
  src/transport/redis_url.cpp
)
set(ATOMIK_REDIS_HEADERS redis.hpp)
set(ATOMIK_REDIS_PRIVATE_HEADERS transport/redis_client.hpp transport/redis_format.hpp
                                 transport/redis_replicator_impl.hpp
                                 transport/redis_outbox.hpp)

# The C API (include/atomik/atomik.h): the top layer, over all the others
# but Redis.
set(ATOMIK_C_SOURCES
  src/capi/capi_error.cpp
  src/capi/context.cpp
  src/capi/table.cpp
  src/capi/fingerprint.cpp
  src/capi/message.cpp
  src/capi/stream.cpp
  src/capi/persistent_table.cpp
  src/capi/node_client.cpp
)
set(ATOMIK_C_HEADERS atomik.h)
set(ATOMIK_C_PRIVATE_HEADERS capi/capi_error.hpp)
