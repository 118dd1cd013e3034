# SPDX-License-Identifier: Apache-2.0
"""AtomikContext: one reference and one accumulator (the reference's
``atomik_core.context``), from the compiled core."""

from ._core import AtomikContext, UndoHistory  # noqa: F401

__all__ = ["AtomikContext", "UndoHistory"]
