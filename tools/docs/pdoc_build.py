"""Builds the Python API reference with pdoc; used by scripts/docs.sh.

    python tools/docs/pdoc_build.py OUT_DIR

Documents the installed ``dajisaas`` package (its ``__all__``), with the native classes' and
functions' signatures and docstrings taken from ``_dajisaas.pyi``. Every warning pdoc emits (an
annotation it cannot resolve, a stub it cannot read, ...) is printed and makes the build fail:
exit 1. Exit 3 means ``dajisaas`` could not be imported (for instance while it is being
reinstalled): try again.

This does what ``pdoc.pdoc("dajisaas", output_directory=OUT_DIR)`` does, plus three steps:

- pdoc reads a module's own stub only (``dajisaas/__init__.pyi``, which does not exist), so the
  members that ``dajisaas`` re-exports from the native module are patched here from
  ``_dajisaas.pyi``, with pdoc's own stub code (``pdoc.doc_pyi``; pdoc is pinned in
  bindings-python/requirements-docs.txt);
- ``OrderId`` and ``Method`` are type aliases that exist only in the stub, and the clients import
  them under ``if TYPE_CHECKING:``. pdoc runs those blocks to resolve string annotations, which
  fails for names the native module lacks, so the stub's top-level aliases are set on the
  native module first (in this process only; nothing is written);
- a native class's members are listed in the stub's order (pdoc would take the order of the
  class's attributes, which changes from one run to the next).
"""

from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path
from unittest import mock

from pdoc import doc, doc_pyi, render


def add_stub_aliases(native: object, stub: object, stub_file: Path) -> None:
    """Sets on ``native`` the stub's top-level assignments (type aliases) that it lacks."""
    names = []
    for node in ast.parse(stub_file.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                names.append(node.target.id)
    for name in names:
        if not hasattr(native, name):
            setattr(native, name, getattr(stub, name))


def in_stub_order(cls: doc.Class, stub_module: doc.Module) -> None:
    """Orders a native class's members as its stub declares them. A native class has no source
    order, and the order of its attributes changes from one run to the next."""
    stub_cls = stub_module.get(cls.qualname)
    order = list(stub_cls.members) if isinstance(stub_cls, doc.Class) else []
    rank = {name: i for i, name in enumerate(order)}
    members = sorted(cls.members.items(), key=lambda kv: (rank.get(kv[0], len(order)), kv[0]))
    # pdoc computes Class.members once (functools.cached_property) and everything else from it.
    cls.__dict__["members"] = dict(members)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    try:
        import dajisaas
        import dajisaas._dajisaas as native
    except ImportError as e:
        print(f"pdoc_build: cannot import dajisaas: {e}", file=sys.stderr)
        return 3

    stub_file = Path(dajisaas.__file__).parent / "_dajisaas.pyi"
    if not stub_file.is_file():
        print(f"pdoc_build: {stub_file} is missing", file=sys.stderr)
        return 1
    # The stub run as a module of its own (not in sys.modules), the way pdoc reads stubs.
    stub = doc_pyi._import_stub_file(native.__name__, stub_file)
    add_stub_aliases(native, stub, stub_file)

    # The docstrings write code as ``x`` (reStructuredText).
    render.configure(docformat="restructuredtext", show_source=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = doc.Module(dajisaas)
        from_native = [
            m for m in module.members.values() if m.taken_from[0] == native.__name__
        ]
        for member in from_native:
            if isinstance(member, doc.Class):
                doc_pyi._prepare_module(member)  # members computed before sys.modules is patched
        stub_module = doc.Module(stub)
        with mock.patch.dict("sys.modules", {native.__name__: stub}):
            for member in from_native:
                doc_pyi._patch_doc(member, stub_module)
        for member in from_native:
            if isinstance(member, doc.Class):
                in_stub_order(member, stub_module)

        all_modules = {module.modulename: module}
        out.mkdir(parents=True, exist_ok=True)
        (out / "dajisaas.html").write_text(render.html_module(module, all_modules), "utf-8")
        (out / "index.html").write_text(render.html_index(all_modules), "utf-8")
        (out / "search.js").write_text(render.search_index(all_modules), "utf-8")
    for w in caught:
        print(f"warning: {w.message} ({w.filename}:{w.lineno})", file=sys.stderr)
    if caught:
        print(f"pdoc_build: {len(caught)} warning(s)", file=sys.stderr)
        return 1
    print(f"pdoc_build: wrote {out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
