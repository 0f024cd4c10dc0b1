"""The layer rules of ARCHITECTURE.md, checked on the import statements of every module (lazy ones included).

data -> models -> serving -> fronts; training (and export, studies) beside serving, never under it; the
commands at the top. A module may import its own layer and the layers below; nothing imports upward, and no
two modules import each other, directly or round a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mbti_core"

LAYERS = {  # module (or package prefix) -> layer
    "data": ["mbti_core", "mbti_core.types", "mbti_core.settings", "mbti_core.lazy", "mbti_core.heads_config",
             "mbti_core.checkpoint_files", "mbti_core.encoding", "mbti_core.evaluation", "mbti_core.study_reference",
             "mbti_core.tokenizer", "mbti_core.fast_tokenizer", "mbti_core.data", "mbti_core.masking",
             "mbti_core.config_args"],
    "models": ["mbti_core.encoder", "mbti_core.modeling", "mbti_core.type_effect"],
    "serving": ["mbti_core.predictor_base", "mbti_core.inference", "mbti_core.onnx_predictor", "mbti_core.sentiment",
                "mbti_core.model_cache",
                "mbti_core.batch", "mbti_core.app_support", "mbti_core.app_figures", "mbti_core.study_support",
                "mbti_core.study_figures"],
    "training": ["mbti_core.training", "mbti_core.studies", "mbti_core.onnx_export", "mbti_core.baselines",
                 "mbti_core.ensemble"],
    "commands": ["mbti_core.cli", "mbti_core.__main__", "mbti_core.commands", "mbti_core.datacmd",
                 "mbti_core.masking.command", "mbti_core.masking.generate", "mbti_core.masking.__main__"],
}
MAY_IMPORT = {
    "data": {"data"},
    "models": {"data", "models"},
    "serving": {"data", "models", "serving"},
    "training": {"data", "models", "serving", "training"},  # beside serving: it may use a predictor, not vice versa
    "commands": {"data", "models", "serving", "training", "commands"},
    "fronts": {"data", "models", "serving"},
}


def layer_of(module: str) -> str | None:
    """The layer of the longest prefix that names it (``mbti_core.masking.command`` is a command)."""
    named = [prefix for prefixes in LAYERS.values() for prefix in prefixes
             if module == prefix or module.startswith(prefix + ".")]
    if not named:
        return None
    best = max(named, key=len)
    return next(layer for layer, prefixes in LAYERS.items() if best in prefixes)


def module_files() -> dict[str, Path]:
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path
    return files


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mbti_core":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "mbti_core")
    return {name for name in found if name in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(path, set(files)) - {name} for name, path in files.items()}


def test_every_module_has_a_layer(graph):
    unplaced = [module for module in graph if layer_of(module) is None]
    assert not unplaced, f"add these modules to LAYERS (and ARCHITECTURE.md): {unplaced}"


def test_no_module_imports_a_higher_layer(graph):
    upward = [f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
              for module, targets in graph.items() if layer_of(module) for target in sorted(targets)
              if layer_of(target) not in MAY_IMPORT[layer_of(module)]]
    assert not upward, "\n".join(upward)


def test_fronts_use_serving_only():
    known = set(module_files())
    fronts = [ROOT / "app.py", ROOT / "gradio_app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    upward = [f"{path.name} imports {target} ({layer_of(target)})" for path in fronts
              for target in sorted(imports_of(path, known)) if layer_of(target) not in MAY_IMPORT["fronts"]]
    assert not upward, "\n".join(upward)


def test_no_import_circle(graph):
    """Tarjan's strongly connected components: a component of more than one module is a circle."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not circles, circles


def test_the_checks_catch_a_planted_violation(tmp_path):
    """The rules are not vacuous: an upward import and a circle are both seen."""
    known = {"mbti_core.types", "mbti_core.training.mft", "mbti_core.inference"}
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from mbti_core.training.mft import run\n    import mbti_core.inference\n")
    assert imports_of(planted, known) == {"mbti_core.training.mft", "mbti_core.inference"}
    assert "training" not in MAY_IMPORT[layer_of("mbti_core.predictor_base")]
    assert layer_of("mbti_core.masking.command") == "commands" and layer_of("mbti_core.masking.run") == "data"
