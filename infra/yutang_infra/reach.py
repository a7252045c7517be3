"""What each of the app's Lambda functions can reach, read from its code: the tables (the
PynamoDB models its code names), the secrets and the buckets (the settings it reads), so that each
function's role grants only those, and a job added later gets its role without anyone
writing a list.

The reach is a safe over-estimate. It starts at a function's own body (a scheduled job's
handler, or every route of the API) and follows, transitively, every `chalicelib` module
imported anywhere in a module (at the top or inside any function: the app imports lazily),
every module named in a string (what `importlib.import_module` is given), and every parent
package (Python runs its `__init__`). In what it reaches, every model whose class is named
is a table the function may use, and every secret setting named (`settings.token_secret`)
or spelled (`"TOKEN_SECRET"`) is a secret it may read; a bucket setting likewise
(`settings.code_images_bucket`) is a bucket it may use. A module that builds a module name at
run time cannot be followed, so it is refused: the stack would not know what it needs.
"""
import ast
from dataclasses import dataclass
from functools import lru_cache

from yutang_infra.yutang_app import ROOT

PACKAGE = "chalicelib"
# The settings module defines an accessor for every secret: naming one there is no use of it.
SETTINGS_MODULE = "chalicelib.config"
DYNAMIC_IMPORTS = ("import_module", "__import__")
# app.py installs chalicelib.wiring in every Lambda: what reaches the module on the left runs
# what wiring installs there (every event's subscribers, every stream's consumers, every
# channel), so it reaches what wiring imports.
INSTALLED_INTO = {"chalicelib.db.events": "chalicelib.wiring",
                  "chalicelib.db.streams": "chalicelib.wiring",
                  "chalicelib.orders.channels": "chalicelib.wiring",
                  "chalicelib.orders.events": "chalicelib.wiring"}


class ReachError(ValueError):
    pass


@dataclass(frozen=True)
class Reach:
    modules: frozenset
    tables: frozenset       # Meta.table of each model reached
    secrets: frozenset      # keys of the brand's `secrets` (wechat_app_secret, ...)
    buckets: frozenset      # the settings naming the stack's buckets (code_images_bucket)
    describes_tables: bool  # the code describes tables (the health check's Model.exists())


def _path(module):
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=None)
def _tree(module):
    return ast.parse(_path(module).read_text(encoding="utf-8"), filename=str(_path(module)))


def _is_package(module):
    return _path(module).name == "__init__.py"


def _imported(module, node):
    """The chalicelib modules an import statement of `module` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module if _is_package(module) else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    return {name for name in names
            if (name == PACKAGE or name.startswith(PACKAGE + ".")) and _path(name)}


def _with_parents(modules):
    found = set()
    for module in modules:
        parts = module.split(".")
        found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return found


@dataclass
class _Facts:
    loads: set      # the chalicelib modules it imports (and their parent packages)
    names: set      # every name and attribute it mentions
    strings: set    # every string constant it holds
    describes: bool

    def __ior__(self, other):
        self.loads |= other.loads
        self.names |= other.names
        self.strings |= other.strings
        self.describes |= other.describes
        return self


def _scan(module, nodes, model_names=()):
    facts = _Facts(set(), set(), set(), False)
    for node in (inner for outer in nodes for inner in ast.walk(outer)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            facts.loads |= _imported(module, node)
            for alias in node.names:
                facts.names.update({alias.name.split(".")[-1], alias.asname or ""} - {""})
        elif isinstance(node, ast.Name):
            facts.names.add(node.id)
        elif isinstance(node, ast.Attribute):
            facts.names.add(node.attr)
            # Model.exists() and describe_table call DescribeTable.
            facts.describes |= node.attr == "describe_table" or (
                node.attr == "exists" and isinstance(node.value, ast.Name)
                and node.value.id in model_names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            facts.strings.add(node.value)
            if node.value.startswith(PACKAGE + ".") and _path(node.value):
                facts.loads.add(node.value)
        elif isinstance(node, ast.Call):
            called = getattr(node.func, "attr", getattr(node.func, "id", None))
            if called in DYNAMIC_IMPORTS and node.args and \
                    isinstance(node.args[0], (ast.JoinedStr, ast.BinOp, ast.Call)):
                raise ReachError(f"{module}:{node.lineno} builds a module name at run time; "
                                 "name the modules it may import in string constants")
    facts.loads = _with_parents(facts.loads)
    return facts


@lru_cache(maxsize=None)
def _module_facts(module, model_names):
    return _scan(module, [_tree(module)], model_names)


def _entry_facts(module, function_name, model_names):
    """What one function uses directly: its body, and the module's own functions, imports
    and constants that the body names (followed). The rest of its module is not its: a
    module of scheduled jobs holds every job, and each job is a function of its own."""
    if _path(module) is None:
        raise ReachError(f"no module {module} under {ROOT}")
    top = {}
    for node in _tree(module).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = [alias.asname or alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = [name.id for target in targets for name in ast.walk(target)
                     if isinstance(name, ast.Name)]
        else:
            continue
        for name in bound:
            top.setdefault(name, []).append(node)
    if function_name not in top:
        raise ReachError(f"no function {function_name} in {module}")
    used, todo = [], list(top[function_name])
    while todo:
        node = todo.pop()
        if any(node is seen for seen in used):
            continue
        used.append(node)
        todo += [definition for inner in ast.walk(node) if isinstance(inner, ast.Name)
                 for definition in top.get(inner.id, ())]
    return _scan(module, used, model_names)


def reach(entries, models, secret_keys, bucket_keys=()):
    """The Reach of a Lambda function whose code starts at `entries` ("module.function")."""
    model_names = frozenset(model.__name__ for model in models)
    facts = _Facts(set(), set(), set(), False)
    for entry in entries:
        module, _, function_name = entry.rpartition(".")
        facts |= _entry_facts(module, function_name, model_names)
        facts.loads |= _with_parents({module}) - {module}   # importing it runs its parents
    reached, todo = set(), sorted(facts.loads)
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        module_facts = _module_facts(module, model_names)
        if module != SETTINGS_MODULE:
            facts |= module_facts
        todo += sorted(module_facts.loads - reached)
        if module in INSTALLED_INTO:
            todo.append(INSTALLED_INTO[module])
    defined_in = reached | {entry.rpartition(".")[0] for entry in entries}
    tables = frozenset(model.Meta.table for model in models
                       if model.__module__ in defined_in and model.__name__ in facts.names)
    secrets = frozenset(key for key in secret_keys
                        if key in facts.names or key.upper() in facts.strings)
    buckets = frozenset(key for key in bucket_keys
                        if key in facts.names or key.upper() in facts.strings)
    return Reach(modules=frozenset(reached), tables=tables, secrets=secrets, buckets=buckets,
                 describes_tables=facts.describes)
