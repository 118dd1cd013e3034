# SPDX-License-Identifier: Apache-2.0
"""Seed pattern 4, rollback chain (mirrors examples/undo.cpp).

UndoHistory keeps one 8-byte delta per level; undo re-applies a delta (XOR
is self-inverse). Exits 1 if a result is wrong.
"""
import sys

from atomik_core import AtomikContext, UndoHistory

document_state = 0xD0C5
ctx = AtomikContext()
ctx.load(document_state)
undo_stack = UndoHistory(max_levels=1024)

# Apply 3 edits
undo_stack.apply(ctx, 0x0001)
undo_stack.apply(ctx, 0x0010)
undo_stack.apply(ctx, 0x0100)

# Undo last 2
undo_stack.undo(ctx)  # Removes 0x0100
undo_stack.undo(ctx)  # Removes 0x0010

print(f"state 0x{ctx.read():x} == document_state ^ 0x0001 (0x{document_state ^ 0x0001:x}); "
      f"redo available: {undo_stack.redo_depth} levels")
if ctx.read() != document_state ^ 0x0001:
    sys.exit(1)
# Nothing left to undo after the first edit: undo() returns None, no crash.
undo_stack.undo(ctx)
if undo_stack.undo(ctx) is not None or ctx.read() != document_state:
    sys.exit(1)
