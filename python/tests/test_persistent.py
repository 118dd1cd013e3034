# SPDX-License-Identifier: Apache-2.0
"""PersistentSyncTable (durable, checksummed, exactly-once replay) and
UndoHistory."""
import os

import pytest

from atomik_core import (AtomikContext, AtomikTable, CorruptionError, DeltaMessage,
                         PersistentSyncTable, SyncTable, UndoHistory)


def test_puts_survive_a_reopen(tmp_path):
    path = tmp_path / "state"
    with PersistentSyncTable(16, path=path) as t:
        seen = []
        t.on_delta(seen.append)
        m = t.put(1, 0xDEADBEEF)
        t.put(2, 5)
        t.put(2, 5)                        # unchanged: nothing logged or sent
        assert m.seq == 1 and m.origin == t.origin and len(seen) == 2
        origin = t.origin
    assert t.closed
    with PersistentSyncTable(16, path=str(path)) as t:
        assert t.get(1) == 0xDEADBEEF and t.get(2) == 5 and t.origin == origin
        assert t.recovery_report["records_ok"] >= 2
        assert t.snapshot() == {**{a: 0 for a in range(16)}, 1: 0xDEADBEEF, 2: 5}


def test_receive_is_exactly_once_and_in_order(tmp_path):
    t = PersistentSyncTable(8, path=tmp_path / "s", origin=1)
    assert t.receive(DeltaMessage(3, 7, seq=1), origin=9) is True
    assert t.receive(DeltaMessage(3, 7, seq=1), origin=9) is False      # duplicate
    with pytest.raises(RuntimeError):
        t.receive(DeltaMessage(3, 1, seq=5), origin=9)                  # gap
    with pytest.raises(ValueError):
        t.receive(DeltaMessage(3, 1, seq=0), origin=9)
    assert t.get(3) == 7
    t.close()
    t = PersistentSyncTable(8, path=tmp_path / "s")
    assert t.receive(DeltaMessage(3, 7, seq=1), origin=9) is False      # after restart too
    assert t.get(3) == 7
    t.close()


def test_compact_checkpoints_and_keeps_state(tmp_path):
    t = PersistentSyncTable(8, path=tmp_path / "c")
    for i in range(8):
        t.put(i, i * 3)
    assert t.compact() == 1 and t.epoch == 1
    t.close()
    t = PersistentSyncTable(8, path=tmp_path / "c")
    assert [t.get(i) for i in range(8)] == [i * 3 for i in range(8)]
    t.close()


def test_a_flipped_byte_is_a_corruption_error_not_wrong_state(tmp_path):
    d = tmp_path / "x"
    t = PersistentSyncTable(8, path=d)
    t.put(1, 0x1111)
    t.close()
    wal = sorted(p for p in os.listdir(d) if p.endswith(".wal"))[-1]
    raw = bytearray((d / wal).read_bytes())
    raw[len(raw) // 2] ^= 0x40
    (d / wal).write_bytes(raw)
    with pytest.raises(CorruptionError, match="offset"):
        PersistentSyncTable(8, path=d)
    t = PersistentSyncTable(8, path=d, recovery="skip")
    assert t.recovery_report["records_dropped"] >= 1 and t.get(1) in (0, 0x1111)
    t.close()


def test_bad_arguments_are_clear_errors(tmp_path):
    f = tmp_path / "state.wal"
    f.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="is a file"):
        PersistentSyncTable(8, path=f)
    with pytest.raises(ValueError, match="sync must be one of"):
        PersistentSyncTable(8, path=tmp_path / "a", sync="sometimes")
    with pytest.raises(ValueError, match="recovery"):
        PersistentSyncTable(8, path=tmp_path / "a", recovery="maybe")
    with pytest.raises(ValueError, match="width"):
        PersistentSyncTable(8, path=tmp_path / "a", width=128)
    t = PersistentSyncTable(8, path=tmp_path / "b", width=16)
    with pytest.raises(OverflowError):
        t.put(0, 1 << 16)
    with pytest.raises(IndexError):
        t.put(8, 1)
    t.close()
    t.close()                                   # idempotent
    with pytest.raises(ValueError, match="closed"):
        t.get(0)
    assert "closed" in repr(t)


def test_reopen_with_another_size_is_an_error(tmp_path):
    PersistentSyncTable(8, path=tmp_path / "n").close()
    with pytest.raises(ValueError):
        PersistentSyncTable(16, path=tmp_path / "n")


def test_persistent_and_memory_tables_diff_and_protocols(tmp_path):
    t = PersistentSyncTable(4, path=tmp_path / "d", sync="none")
    s = SyncTable(4)
    t.put(1, 2)
    s.put(1, 2)
    assert t.diff(s) == [] and s.diff(t) == []
    s.put(3, 1)
    assert t.diff(s) == [3]
    assert len(t) == 4 and list(t) == [0, 1, 2, 3] and 2 in t and 9 not in t
    t.sync()
    assert repr(t).startswith("PersistentSyncTable(num_contexts=4, width=64, active=1")
    assert t.width == 64 and t.num_contexts == 4 and t.path.endswith("d")
    t.close()


# --- UndoHistory ------------------------------------------------------------------


def test_undo_history_undoes_and_redoes():
    doc = AtomikContext(initial_state=0xD0C0)
    h = UndoHistory(max_levels=100)
    for d in (0x0001, 0x0010, 0x0100):
        h.apply(doc, d)
    assert h.undo(doc) == 0x0100 and h.undo(doc) == 0x0010
    assert doc.read() == 0xD0C0 ^ 0x0001
    assert h.redo(doc) == 0x0010 and doc.read() == 0xD0C0 ^ 0x0011
    assert (h.undo_depth, h.redo_depth) == (2, 1)
    assert h.undo_deltas() == [0x0001, 0x0010] and h.redo_deltas() == [0x0100]
    h.apply(doc, 0x1000)                     # a new edit drops the redo branch
    assert h.redo(doc) is None and h.redo_depth == 0


def test_undo_history_drops_the_oldest_level_when_full():
    doc = AtomikContext()
    h = UndoHistory(2)
    for d in (1, 2, 4):
        h.apply(doc, d)
    assert h.dropped == 1 and h.undo(doc) == 4 and h.undo(doc) == 2 and h.undo(doc) is None
    assert doc.read() == 1 and h.max_levels == 2
    h.clear()
    assert h.undo_depth == 0 and "UndoHistory(max_levels=2" in repr(h)


def test_undo_history_works_on_a_table_context_and_checks_inputs():
    table = AtomikTable(4, 16)
    h = UndoHistory()
    h.apply(table.context(2), 0x00FF)
    assert table.read(2) == 0x00FF
    h.undo(table.context(2))
    assert table.read(2) == 0
    with pytest.raises(OverflowError):
        h.apply(table.context(2), 1 << 16)
    with pytest.raises(ValueError, match="width <= 64"):
        h.apply(AtomikContext(128), 1)
    with pytest.raises(TypeError):
        h.apply(5, 1)
    with pytest.raises(OverflowError):
        UndoHistory(-1)
