# SPDX-License-Identifier: Apache-2.0
"""The README's quick-start example in Python (mirrors examples/quickstart.cpp):
load, accum, read, swap, and a clear error instead of silent damage."""
import sys

from atomik_core import AtomikContext, AtomikTable

ctx = AtomikContext()
ctx.load(0xCAFE)  # reference state
ctx.accum(0x00FF)  # a delta
print(f"state {ctx.read():#018x}")  # 0x...ca01
ctx.accum(0x00FF)  # XOR is self-inverse: undone
epoch = ctx.swap()  # close the epoch: 0xcafe
table = AtomikTable(256)
try:
    table.accum(300, 1)  # out of range: an IndexError, not silent damage
    error = None
except IndexError as e:
    error = e
try:
    ctx.accum(~0x0F)  # negative: the reference masked it silently
except OverflowError as e:
    print(f"OverflowError: {e}")
print(f"epoch {epoch:#x}; IndexError: {error}")
sys.exit(0 if epoch == 0xCAFE and error is not None else 1)
