# The library's sources, one list per subsystem (no globs). Each subsystem
# owns its block; includes point one way: transport -> storage -> sync ->
# codec -> core.
set(ATOMIK_CORE_SOURCES
  src/core/status.cpp
  src/core/concurrent_context.cpp
  src/core/shared_context.cpp
  src/core/fingerprint.cpp  # issue #4
  src/core/fingerprint_kernel_scalar.cpp  # issue #4
  src/core/fingerprint_kernel_sse2.cpp  # issue #4
  src/core/fingerprint_kernel_avx2.cpp  # issue #4
)
# Fingerprint (issue #4): only the AVX2 kernel is built with -mavx2; it runs
# only after a runtime __builtin_cpu_supports("avx2") check.
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
  src/codec/message.cpp  # issue #8
  src/codec/frame.cpp  # issue #8
  src/codec/wal_record.cpp  # issue #9
)
set(ATOMIK_SYNC_SOURCES
  src/sync/stream.cpp  # issue #8
  src/sync/snapshot_codec.cpp  # issue #8
)
set(ATOMIK_STORAGE_SOURCES
  src/storage/file.cpp  # issue #9
  src/storage/wal_writer.cpp  # issue #9
  src/storage/wal_reader.cpp  # issue #9
  src/storage/checkpoint.cpp  # issue #9
  src/storage/persistent_table.cpp  # issue #9
  src/storage/replica.cpp
)
set(ATOMIK_TRANSPORT_SOURCES
  src/transport/packet.cpp  # issue #5
  src/transport/node.cpp  # issue #5
  src/transport/client.cpp  # issue #5
  src/transport/resolve.cpp  # issue #5: host names for --listen/--peer
)
# Redis Streams transport (issue #6): its own library, atomik_redis, so only
# its users link hiredis (CMakeLists.txt).
set(ATOMIK_REDIS_SOURCES
  src/transport/redis_client.cpp
  src/transport/redis_format.cpp
  src/transport/redis_replicator.cpp
)
set(ATOMIK_SOURCES
  ${ATOMIK_CORE_SOURCES} ${ATOMIK_CODEC_SOURCES} ${ATOMIK_SYNC_SOURCES}
  ${ATOMIK_STORAGE_SOURCES} ${ATOMIK_TRANSPORT_SOURCES})
