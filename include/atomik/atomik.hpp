// SPDX-License-Identifier: Apache-2.0
// atomik/atomik.hpp: the umbrella header; includes the whole public API.
#pragma once

#include "atomik/checkpoint.hpp"          // IWYU pragma: export
#include "atomik/concurrent_context.hpp"  // IWYU pragma: export
#include "atomik/context.hpp"             // IWYU pragma: export
#include "atomik/file.hpp"                // IWYU pragma: export
#include "atomik/fingerprint.hpp"         // IWYU pragma: export
#include "atomik/frame.hpp"               // IWYU pragma: export
#include "atomik/group.hpp"               // IWYU pragma: export
#include "atomik/log.hpp"                 // IWYU pragma: export
#include "atomik/lww.hpp"                 // IWYU pragma: export
#include "atomik/message.hpp"             // IWYU pragma: export
#include "atomik/node.hpp"                // IWYU pragma: export
#include "atomik/persistent_table.hpp"    // IWYU pragma: export
#include "atomik/shared_context.hpp"      // IWYU pragma: export
#include "atomik/status.hpp"              // IWYU pragma: export
#include "atomik/stream.hpp"              // IWYU pragma: export
#include "atomik/table.hpp"               // IWYU pragma: export
#include "atomik/undo.hpp"                // IWYU pragma: export
#include "atomik/version.hpp"             // IWYU pragma: export
#include "atomik/wal.hpp"                 // IWYU pragma: export
#include "atomik/word.hpp"                // IWYU pragma: export
