// atomik/atomik.hpp: the umbrella header; includes the whole public API.
#pragma once

#include "atomik/concurrent_context.hpp"  // IWYU pragma: export
#include "atomik/context.hpp"             // IWYU pragma: export
#include "atomik/group.hpp"               // IWYU pragma: export
#include "atomik/shared_context.hpp"      // IWYU pragma: export
#include "atomik/status.hpp"              // IWYU pragma: export
#include "atomik/table.hpp"               // IWYU pragma: export
#include "atomik/undo.hpp"                // IWYU pragma: export
#include "atomik/version.hpp"             // IWYU pragma: export
#include "atomik/word.hpp"                // IWYU pragma: export
