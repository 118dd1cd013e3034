# SPDX-License-Identifier: Apache-2.0
"""atomik_core.integrations.sqlalchemy_listener on an in-memory SQLite
database (python3-sqlalchemy)."""
import pytest

sa = pytest.importorskip("sqlalchemy")
from sqlalchemy.orm import Session, declarative_base  # noqa: E402

from atomik_core.integrations.sqlalchemy_listener import AtomikSessionTracker  # noqa: E402

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String)
    score = sa.Column(sa.Integer)


@pytest.fixture
def engine():
    e = sa.create_engine("sqlite://")
    Base.metadata.create_all(e)
    with Session(e) as s:
        s.add_all([User(id=i, name="u%d" % i, score=i) for i in range(5)])
        s.commit()
    yield e
    e.dispose()


def test_false_dirty_and_true_changes(engine):
    with Session(engine) as s:
        t = AtomikSessionTracker(s)
        u = s.get(User, 1)
        v = s.get(User, 2)
        u.name = u.name                 # marked dirty, unchanged
        v.score = 99                    # changed
        s.flush()
        assert t.stats() == {"flushes": 1, "objects_checked": 2,
                             "truly_changed": 1, "false_dirty": 1,
                             "skip_rate": "50.0%"}
        assert t.last_changed == [v]
        # After the flush the written value is the new baseline.
        v.score = 99
        v.name = "u2"
        u.score = 7
        s.flush()
        assert t.stats()["false_dirty"] == 2 and t.last_changed == [u]
        # Change and change back before a flush: nothing really changed.
        u.name = "tmp"
        u.name = "u1"
        s.flush()
        assert t.stats()["false_dirty"] == 3
        s.commit()
    with Session(engine) as s:
        assert s.get(User, 2).score == 99 and s.get(User, 1).score == 7


def test_new_objects_are_baselined_after_insert(engine):
    with Session(engine) as s:
        t = AtomikSessionTracker(s)
        w = User(id=10, name="new", score=0)
        s.add(w)
        s.flush()
        assert t.stats()["objects_checked"] == 0
        w.name = "new"
        s.flush()
        assert t.stats()["false_dirty"] == 1
        w.name = "newer"
        s.flush()
        assert t.last_changed == [w]


def test_detach_stops_tracking(engine):
    with Session(engine) as s:
        t = AtomikSessionTracker(s)
        t.detach()
        t.detach()                      # idempotent
        u = s.get(User, 3)
        u.score = 1000
        s.flush()
        assert t.stats()["flushes"] == 0
        assert "AtomikSessionTracker" in repr(t)
