# The library's sources, one list per subsystem (no globs). Each subsystem
# owns its block; includes point one way: transport -> storage -> sync ->
# codec -> core.
set(ATOMIK_CORE_SOURCES
  src/core/status.cpp
  src/core/concurrent_context.cpp
  src/core/shared_context.cpp
)
set(ATOMIK_CODEC_SOURCES
)
set(ATOMIK_SYNC_SOURCES
)
set(ATOMIK_STORAGE_SOURCES
)
set(ATOMIK_TRANSPORT_SOURCES
)
set(ATOMIK_SOURCES
  ${ATOMIK_CORE_SOURCES} ${ATOMIK_CODEC_SOURCES} ${ATOMIK_SYNC_SOURCES}
  ${ATOMIK_STORAGE_SOURCES} ${ATOMIK_TRANSPORT_SOURCES})
