// SPDX-License-Identifier: Apache-2.0
// Drawing origin ids: what "origin 0" in StreamOptions, PersistentOptions
// and the Redis replicator's options turns into. Private to src/.
#pragma once

#include <cstdint>

#include "atomik/export.h"

namespace atomik::sync {

// A random non-zero 64-bit origin id from std::random_device (two 32-bit
// draws). Throws only what std::random_device throws when the system has no
// entropy source. Exported: the storage and Redis libraries call it.
ATOMIK_EXPORT std::uint64_t random_origin();

}  // namespace atomik::sync
