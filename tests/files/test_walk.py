"""Every call in the package that deletes, replaces or creates files lives in ``calibprune/files/`` (issue 20).

The walk reads the package's source with ``ast``: calls named like a filesystem primitive (``rmtree``,
``unlink``, ``os.replace``, ``rename``, ``write_text``, ``torch.save``, ``open(..., "w")``...) are allowed
nowhere else. Nothing is allow-listed outside the owner module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import calibprune

PACKAGE = Path(calibprune.__file__).parent
OWNER = PACKAGE / "files"
# Attribute or function names whose call deletes, replaces, moves or creates a path.
PRIMITIVES = {
    "rmtree",
    "unlink",
    "remove",
    "removedirs",
    "rmdir",
    "replace",
    "rename",
    "renames",
    "move",
    "copyfile",
    "copy",
    "copy2",
    "copytree",
    "link",
    "symlink",
    "write_text",
    "write_bytes",
    "mkdir",
    "makedirs",
    "mkdtemp",
    "mkstemp",
    "TemporaryDirectory",
    "NamedTemporaryFile",
    "truncate",
    "touch",
    "chmod",
}
# ``x.remove(item)`` on a list and ``str.replace(a, b)`` share names with the primitives; those receivers are
# recognised by where they come from (``os``/``shutil``/``Path``-like modules) or by their arguments.
FS_MODULES = {"os", "shutil", "tempfile", "pathlib"}
# Writers of a whole file or folder: allowed only onto the temp path the owner module hands out, i.e. inside a
# ``lambda`` given to ``write_with`` or inside ``with atomic_folder(...) as tmp`` / ``with atomic_file(...) as tmp``.
WRITERS = {"save", "save_file", "savefig", "save_pretrained"}
OWNED_BLOCKS = {"atomic_folder", "atomic_file"}


def _name(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _owned_regions(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside a ``write_with`` lambda or an ``atomic_folder``/``atomic_file`` block."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "write_with":
            roots += [arg for arg in node.args if isinstance(arg, ast.Lambda)]
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call) and _name(item.context_expr.func) in OWNED_BLOCKS
            for item in node.items
        ):
            roots += node.body
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _is_fs_call(node: ast.Call) -> str | None:
    func = node.func
    if _name(func) in WRITERS and (not isinstance(func, ast.Attribute) or func.attr != "save" or _is_torch(func)):
        return "torch.save" if _name(func) == "save" else _name(func)
    if isinstance(func, ast.Attribute):
        name = func.attr
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        if name in {"open", "fdopen"} and owner in FS_MODULES:
            return f"{owner}.{name}"
        if name not in PRIMITIVES:
            return None
        if owner in FS_MODULES:
            return f"{owner}.{name}"
        if name in {"remove", "replace", "copy", "link", "truncate"}:  # list.remove, str.replace, dict.copy...
            return None
        return name
    if isinstance(func, ast.Name):
        if func.id == "open" and _writes(node):
            return "open(..., write mode)"
        if func.id in {"mkdtemp", "mkstemp", "rmtree", "copyfile"}:
            return func.id
    return None


def _is_torch(func: ast.Attribute) -> bool:
    return isinstance(func.value, ast.Name) and func.value.id == "torch"


def _writes(node: ast.Call) -> bool:
    modes = [a for a in node.args[1:2]] + [k.value for k in node.keywords if k.arg == "mode"]
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+") for m in modes)


def filesystem_calls(root: Path) -> list[str]:
    """``file:line: call`` of every filesystem primitive called under ``root`` outside the owner module."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if OWNER in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owned = _owned_regions(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and id(node) not in owned and (call := _is_fs_call(node)):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {call}")
    return found


def test_only_the_owner_module_deletes_replaces_or_creates_files():
    assert filesystem_calls(PACKAGE) == []


def test_the_walk_finds_each_primitive(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "bad.py").write_text(
        "import os, shutil, torch\n"
        "from pathlib import Path\n"
        "shutil.rmtree('x')\n"
        "os.replace('a', 'b')\n"
        "Path('x').unlink()\n"
        "Path('x').write_text('t')\n"
        "torch.save({}, 'x')\n"
        "open('x', 'w')\n"
        "Path('x').rename('y')\n"
        "shutil.move('a', 'b')\n"
        "[1].remove(1)\n"  # a list: not a file
        "'a'.replace('a', 'b')\n"  # a string: not a file
        "open('x')\n"  # reading: not a write
        "fig.savefig('x.png')\n"
        "write_with('x', lambda tmp: torch.save({}, tmp), 'p')\n"  # onto the owner's temp path: allowed
        "with atomic_folder('m', 'p', 'model') as tmp:\n"
        "    model.save_pretrained(tmp)\n"  # into the owner's temp folder: allowed
        "model.save_pretrained('m')\n"
    )
    calls = [line.split(": ", 1)[1] for line in filesystem_calls(package)]
    assert calls == [
        "shutil.rmtree",
        "os.replace",
        "unlink",
        "write_text",
        "torch.save",
        "open(..., write mode)",
        "rename",
        "shutil.move",
        "savefig",
        "save_pretrained",
    ]
