# Placeholder until the atomik_core package lands: exposes the compiled
# module built next to this directory (atomik_core.cpython-*.so) under the
# package's name, so atomik_core._net and the pure-Python submodules import
# as they will from the package.
import glob as _glob
import importlib.util as _util
import os as _os

_here = _os.path.dirname(_os.path.abspath(__file__))
_so = _glob.glob(_os.path.join(_os.path.dirname(_here), "atomik_core.*.so"))
if not _so:
    raise ImportError("atomik_core: compiled module not found next to "
                      + _here)
_spec = _util.spec_from_file_location("atomik_core", _so[0])
_core = _util.module_from_spec(_spec)
_spec.loader.exec_module(_core)
globals().update({k: getattr(_core, k) for k in dir(_core)
                  if not k.startswith("__") or k == "__version__"})
__all__ = list(_core.__all__)
