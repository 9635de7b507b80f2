"""A faster ``tandem`` start: one import deferred until it is used.

Jupyter Server imports jupyter_events, which imports jsonschema's format checkers, which
import ``rfc3987_syntax`` when it is installed (``jsonschema[format-nongpl]``). That
module builds about thirty Earley parsers as it is imported: 1–5 s of every server start
on a loaded machine, for the ``iri`` formats that no Jupyter or Tandem event schema uses.

:func:`defer_iri_parsers` puts a stand-in in its place whose functions import the real
module at their first call, so any validation that does need it is unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["defer_iri_parsers"]

NAME = "rfc3987_syntax"


class _Deferred(types.ModuleType):
    """Stands in for ``rfc3987_syntax`` until something asks for more than its name."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # the import system probing (``__path__``), not a use
            raise AttributeError(attr)
        return getattr(_real(), attr)


def _real() -> types.ModuleType:
    module = sys.modules.get(NAME)
    if isinstance(module, _Deferred):
        del sys.modules[NAME]
        try:
            module = importlib.import_module(NAME)
        except BaseException:
            sys.modules[NAME] = _stand_in()
            raise
    assert module is not None
    return module


def _later(attr: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real(), attr)(*args, **kwargs)

    call.__name__ = attr
    return call


def _stand_in() -> _Deferred:
    module = _Deferred(NAME, "Imported at first use (tandem.quick_start).")
    # What jsonschema imports by name; anything else goes through __getattr__.
    module.is_valid_syntax = _later("is_valid_syntax")  # type: ignore[attr-defined]
    module.parse = _later("parse")  # type: ignore[attr-defined]
    return module


def defer_iri_parsers() -> None:
    """Make ``import rfc3987_syntax`` cheap for this process (before Jupyter Server is
    imported). Does nothing where the module is absent or already imported."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is None:
        return
    sys.modules[NAME] = _stand_in()
