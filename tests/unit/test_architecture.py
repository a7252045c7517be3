"""The architecture as the code has it: the import contracts of .importlinter (entry →
domains → kernel → ground, no cycles, no domain reading another's models), no module loaded
by a path string, and no transaction read by the position of its items."""
import ast
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"


def _modules():
    for path in sorted(CHALICELIB.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_the_import_contracts_hold(capsys):
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exit_code = lint_imports(config_filename=".importlinter", no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)
    assert exit_code == 0, capsys.readouterr().out


def test_no_module_is_imported_by_a_path_string():
    calls = [f"{name}:{node.lineno}" for name, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call)
             and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"]
    assert calls == []


def test_transactions_are_read_by_item_name_not_position():
    """A cancellation's reasons are read through Cancellation, by the names the items were
    added with: an index (`codes[2]`, `codes[:1]`) breaks when a module adds an item."""
    positional = re.compile(r"\b(codes|reasons|cancellation_reasons)\s*\[|cancellation_codes")
    found = [f"{name}:{number}" for name, _ in _modules()
             for number, line in enumerate((ROOT / name).read_text().splitlines(), 1)
             if positional.search(line)]
    assert found == []


def test_importing_the_app_loads_no_heavy_library():
    """A cold start imports the app; PynamoDB, botocore, wechatpy and the X-Ray SDK come with
    the first request that needs them (the channels and subscribers are resolved then too)."""
    import subprocess
    import sys

    heavy = ("pynamodb", "botocore", "boto3", "wechatpy", "aws_xray_sdk")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, app; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert [name for name in loaded if name.split(".")[0] in heavy] == []
