# SPDX-License-Identifier: Apache-2.0
"""Tell ORM objects that really changed from ones only marked dirty, with
atomik_core's fingerprint (python3-sqlalchemy, 1.4 or 2.x).

    from sqlalchemy.orm import Session
    from atomik_core.integrations.sqlalchemy_listener import AtomikSessionTracker

    session = Session(engine)
    tracker = AtomikSessionTracker(session)
    user = session.get(User, 1)
    user.name = user.name          # marked dirty, nothing changed
    session.flush()
    tracker.stats()["false_dirty"]   # 1

The tracker fingerprints each object's loaded column values when the
session loads it and after every flush (the baseline), and before a flush
compares every dirty object with its baseline: equal is "false dirty",
different is "truly changed" (listed in last_changed). An object without a
baseline (e.g. attached with add() after being loaded elsewhere) counts as
truly changed, as in the reference. Baselines live in each object's
InstanceState.info, so they go away with the object. Column values are
read from what is loaded: the tracker never makes the session query.

Differences from the reference: objects are baselined when loaded, not at
their first flush (the reference counted every object's first dirty flush
as a change); baselines are kept per object, not per id() (ids are reused
after garbage collection). fingerprint_width keeps the reference's
default, 64: the strong fingerprint truncated to 64 bits, not the
reference's XOR-fold; None (or 128) gives the full 128-bit value.
"""

from atomik_core.integrations._fp import fingerprint_of

__all__ = ["AtomikSessionTracker"]

_UNLOADED = b"\x01unloaded"


def _require_sqlalchemy():
    try:
        import sqlalchemy
    except ImportError:
        raise ImportError(
            "AtomikSessionTracker needs SQLAlchemy: apt-get install "
            "python3-sqlalchemy (or pip install sqlalchemy)") from None
    return sqlalchemy


def _column_bytes(state):
    """The loaded column values of an object, as unambiguous bytes."""
    d = state.dict
    parts = []
    for attr in state.mapper.column_attrs:
        v = d[attr.key] if attr.key in d else _UNLOADED
        parts.append(("%s=%r" % (attr.key, v)).encode("utf-8", "backslashreplace"))
    return b"\x00".join(parts)


class AtomikSessionTracker:
    """AtomikSessionTracker(session, fingerprint_width=64)

    Listens to `session` (a Session or sessionmaker's session) until
    detach().
    """

    def __init__(self, session, fingerprint_width=64):
        self._sa = _require_sqlalchemy()
        fingerprint_of(b"", fingerprint_width)   # reject a bad width now
        self._session = session
        self._fp_width = fingerprint_width
        self._key = ("atomik_core.fingerprint", id(self))
        self._flushes = 0
        self._objects_checked = 0
        self._truly_changed = 0
        self._false_dirty = 0
        #: The objects found truly changed by the last flush.
        self.last_changed = []
        self._to_baseline = []
        self._listeners = [
            ("loaded_as_persistent", self._on_loaded),
            ("before_flush", self._before_flush),
            ("after_flush_postexec", self._after_flush),
        ]
        for name, fn in self._listeners:
            self._sa.event.listen(session, name, fn)

    def _fingerprint(self, state):
        return fingerprint_of(_column_bytes(state), self._fp_width)

    def _baseline(self, state):
        state.info[self._key] = self._fingerprint(state)

    def _on_loaded(self, session, obj):
        self._baseline(self._sa.inspect(obj))

    def _before_flush(self, session, flush_context, instances):
        self._flushes += 1
        changed = []
        for obj in list(session.dirty):
            state = self._sa.inspect(obj)
            self._objects_checked += 1
            base = state.info.get(self._key)
            if base is not None and base == self._fingerprint(state):
                self._false_dirty += 1
            else:
                self._truly_changed += 1
                changed.append(obj)
        self.last_changed = changed
        # What this flush writes gets a new baseline once it is written.
        self._to_baseline = [self._sa.inspect(o)
                             for o in list(session.dirty) + list(session.new)]

    def _after_flush(self, session, flush_context):
        for state in self._to_baseline:
            self._baseline(state)
        self._to_baseline = []

    def stats(self):
        """{"flushes", "objects_checked", "truly_changed", "false_dirty",
        "skip_rate"} (skip_rate: false dirty / checked, as "12.5%")."""
        total = self._objects_checked
        rate = self._false_dirty / total * 100 if total else 0.0
        return {"flushes": self._flushes, "objects_checked": total,
                "truly_changed": self._truly_changed,
                "false_dirty": self._false_dirty,
                "skip_rate": "%.1f%%" % rate}

    def detach(self):
        """Stops listening to the session. Idempotent."""
        for name, fn in self._listeners:
            if self._sa.event.contains(self._session, name, fn):
                self._sa.event.remove(self._session, name, fn)

    def __repr__(self):
        s = self.stats()
        return ("AtomikSessionTracker(flushes=%d, checked=%d, false_dirty=%d, "
                "skip_rate=%s)" % (s["flushes"], s["objects_checked"],
                                   s["false_dirty"], s["skip_rate"]))
