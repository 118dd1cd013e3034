# SPDX-License-Identifier: Apache-2.0
"""AtomikTable: a fixed array of contexts (the reference's
``atomik_core.table``), from the compiled core."""

from ._core import AtomikTable  # noqa: F401

__all__ = ["AtomikTable"]
