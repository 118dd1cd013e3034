# SPDX-License-Identifier: Apache-2.0
"""The public surface: __all__, the .pyi stubs and the tests agree.

Every public name (module level, and every public method and property of
each class) must appear in atomik_core.pyi (directly, or re-exported there
from a submodule's stub such as atomik_core/_net.pyi) and be used by some
test file, so a new method cannot ship without a stub and a test.
"""
import ast
import os
import re

import atomik_core

HERE = os.path.dirname(__file__)
STUB = os.path.join(HERE, "..", "atomik_core.pyi")
PACKAGE = os.path.join(HERE, "..", "atomik_core")


def public_api():
    """{name: [public attribute names]} for every class in __all__."""
    out = {}
    for name in atomik_core.__all__:
        obj = getattr(atomik_core, name)
        if isinstance(obj, type) and not issubclass(obj, BaseException):
            out[name] = sorted(a for a in vars(obj) if not a.startswith("_"))
        else:
            out[name] = []
    return out


def stub_api(path=STUB):
    """{name: {method and property names}} declared by the stub file at
    path. `from .mod import X as X` (a stub's explicit re-export) takes X's
    entry from the package's own atomik_core/mod.pyi; a name that stub lacks
    is an error, so a re-export cannot point at nothing."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body
                              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = set()
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = set()
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            sub_path = os.path.join(PACKAGE, node.module + ".pyi")
            sub = stub_api(sub_path)
            for alias in node.names:
                if alias.asname == alias.name:  # re-exported, as PEP 484 says
                    assert alias.name in sub, "%s not in %s" % (alias.name, sub_path)
                    out[alias.name] = sub[alias.name]
    return out


def test_all_names_exist_and_have_docstrings():
    for name in atomik_core.__all__:
        obj = getattr(atomik_core, name)
        if isinstance(obj, type):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
            for attr in public_api()[name]:
                assert getattr(obj, attr).__doc__, "%s.%s has no docstring" % (name, attr)


def test_every_public_name_has_a_stub():
    stubs = stub_api()
    for name, attrs in public_api().items():
        assert name in stubs, "%s missing from atomik_core.pyi" % name
        missing = [a for a in attrs if a not in stubs[name]]
        assert not missing, "%s: %s missing from atomik_core.pyi" % (name, missing)


def test_every_stub_name_exists():
    for name, attrs in stub_api().items():
        if name in ("BytesLike", "ApplyOutcome"):
            continue
        obj = getattr(atomik_core, name)
        for a in attrs:
            assert hasattr(obj, a), "stub %s.%s does not exist" % (name, a)


def test_every_public_name_is_used_by_a_test():
    text = ""
    for f in os.listdir(HERE):
        if f.startswith("test_") and f.endswith(".py") and f != "test_api.py":
            text += open(os.path.join(HERE, f), encoding="utf-8").read()
    for name, attrs in public_api().items():
        assert re.search(r"\b%s\b" % name, text), "no test uses %s" % name
        for a in attrs:
            assert re.search(r"[.\"']%s\b" % a, text), "no test uses %s.%s" % (name, a)
