# SPDX-License-Identifier: Apache-2.0
"""DeltaMessage and DeltaStream (the reference's ``atomik_core.stream``),
from the compiled core. StreamGapError is what a receiver that joined late
(or missed more than `window` deltas) gets instead of a silent skip."""

from ._core import DeltaMessage, DeltaStream, StreamGapError  # noqa: F401

__all__ = ["DeltaMessage", "DeltaStream", "StreamGapError"]
