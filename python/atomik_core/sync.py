# SPDX-License-Identifier: Apache-2.0
"""SyncTable: a replicated table (the reference's ``atomik_core.sync``),
from the compiled core."""

from ._core import DeltaMessage, SyncTable  # noqa: F401
from .websocket import WebSocketHandle  # noqa: F401

__all__ = ["SyncTable", "DeltaMessage", "WebSocketHandle"]
