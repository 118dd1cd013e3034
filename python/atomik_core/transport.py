# SPDX-License-Identifier: Apache-2.0
"""MemoryTransport and CallbackTransport (the reference's
``atomik_core.transport``), from the compiled core."""

from ._core import CallbackTransport, MemoryTransport  # noqa: F401

__all__ = ["MemoryTransport", "CallbackTransport"]
