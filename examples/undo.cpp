// SPDX-License-Identifier: Apache-2.0
// Seed pattern 4, rollback chain: an undo stack of deltas, 8 bytes a level;
// undo re-applies the delta (XOR is self-inverse).
#include "atomik/undo.hpp"

#include <cstdio>
#include <cstdlib>

#include "atomik/context.hpp"

int main() {
  const std::uint64_t document_state = 0xD0C5;
  atomik::Context64 ctx;
  ctx.load(document_state);
  atomik::UndoHistory<std::uint64_t> undo_stack(1024);  // 8 KiB for 1024 levels

  // Apply 3 edits
  undo_stack.apply(ctx, 0x0001);
  undo_stack.apply(ctx, 0x0010);
  undo_stack.apply(ctx, 0x0100);

  // Undo last 2
  undo_stack.undo(ctx);  // Removes 0x0100
  undo_stack.undo(ctx);  // Removes 0x0010

  std::printf(
      "state 0x%llx == document_state ^ 0x0001 (0x%llx); %zu bytes for %zu "
      "levels\n",
      static_cast<unsigned long long>(ctx.read()),
      static_cast<unsigned long long>(document_state ^ 0x0001),
      undo_stack.memory_bytes(), undo_stack.max_levels());
  if (ctx.read() != (document_state ^ 0x0001)) return EXIT_FAILURE;
  // Nothing left to undo beyond the first edit and the start: a no-op, not a
  // crash.
  undo_stack.undo(ctx);
  if (undo_stack.undo(ctx).has_value() || ctx.read() != document_state)
    return EXIT_FAILURE;
  return EXIT_SUCCESS;
}
