"""The package's shape: imports run one way (no cycle) and the core knows nothing of its front ends."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("codebrain", "bids_app", "app")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of the three packages -> the project modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            deps = set()
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                         else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                deps |= {n for n in names if n.split(".")[0] in PACKAGES}
            graph[_module_name(path)] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:  # a package's __init__ re-export or a name imported from a module
                continue
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_graph_sees_real_imports():
    graph = import_graph()
    assert "codebrain.train.trainer" in graph["codebrain.cli.train"]
    assert "codebrain.errors" in graph["bids_app.exit_codes"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_the_core_imports_no_front_end():
    graph = import_graph()
    leaks = sorted((m, d) for m, deps in graph.items() if m.startswith("codebrain")
                   for d in deps if d.split(".")[0] in ("bids_app", "app"))
    assert leaks == []


def test_bids_knowledge_in_the_core_stays_in_its_modules():
    """BIDS names live in data/bids_names.py, used by the simulator's BIDS writer alone in the core."""
    users = sorted(m for m, deps in import_graph().items()
                   if m.startswith("codebrain") and "codebrain.data.bids_names" in deps)
    assert users == ["codebrain.data.simulate_bids"]


def _console_scripts() -> dict[str, str]:
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [line.split("=") for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines()]
    return {name.strip(): target.strip() for name, target in lines}


def test_help_and_version_answer_without_loading_torch():
    """`--help` and `--version` only parse: importing torch first cost every command 3 to 9 s."""
    import subprocess
    import sys

    scripts = _console_scripts()
    assert {"codebrain-synth", "codebrain-eval", "codebrain-train", "codebrain-simulate"} <= set(scripts)
    for name, target in scripts.items():
        module, function = target.split(":")
        for flag in ("--version", "--help"):
            probe = (f"import sys\nfrom {module} import {function} as main\n"
                     f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
                     "print('torch' in sys.modules, file=sys.stderr)")
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
            assert done.stderr.strip().splitlines()[-1] == "False", f"{name} {flag} loads torch"
            assert name in done.stdout or flag == "--help", done.stdout


def _subpackage(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_the_core_is_laid_out_in_subpackages():
    """Every module of codebrain sits in a subpackage named for what it does, but the error model."""
    top = sorted(p.name for p in (ROOT / "codebrain").glob("*.py"))
    assert top == ["__init__.py", "errors.py"]
    assert {"cli", "data", "evaluation", "inference", "model", "preprocess", "runtime", "train"} <= {
        _subpackage(m) for m in import_graph() if m.startswith("codebrain.")}


def test_layers_import_downwards():
    """model/data/preprocess/runtime are the base, inference and evaluation sit on them, training on
    those, the console scripts on top: a lower layer never imports a higher one."""
    above = {"runtime": {"model", "data", "preprocess", "inference", "evaluation", "train", "cli"},
             "model": {"inference", "evaluation", "train", "cli"},
             "data": {"inference", "evaluation", "train", "cli"},
             "preprocess": {"model", "inference", "evaluation", "train", "cli"},
             "inference": {"evaluation", "train", "cli"},
             "evaluation": {"train", "cli"},
             "train": {"cli"}}
    graph = import_graph()
    wrong = sorted((m, d) for m, deps in graph.items() if m.startswith("codebrain.") and not m.endswith("__main__")
                   for d in deps if d.startswith("codebrain.") and _subpackage(d) in above.get(_subpackage(m), ()))
    assert wrong == []
    assert "codebrain.cli.train" in graph["codebrain.train.__main__"]  # python -m codebrain.train


def test_console_scripts_are_the_cli_modules():
    """One module of codebrain/cli per console script, as setup.cfg names them."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    targets = {line.split("=")[1].strip() for line in scripts}
    core = sorted(t.split(":")[0] for t in targets if t.startswith("codebrain"))
    assert core == sorted(f"codebrain.cli.{p.stem}" for p in (ROOT / "codebrain" / "cli").glob("*.py")
                          if p.stem not in ("__init__", "common"))


def test_the_inference_api_is_importable_from_the_package():
    """``from codebrain import Synthesizer`` (the docs' spelling) is the very class, loaded on first use."""
    import codebrain
    from codebrain.inference import synthesize

    assert (codebrain.Synthesizer, codebrain.SynthesisResult, codebrain.synthesize) == (
        synthesize.Synthesizer, synthesize.SynthesisResult, synthesize.synthesize)
    try:
        codebrain.Synthesiser  # noqa: B018
    except AttributeError as e:
        assert "Synthesiser" in str(e)
    else:
        raise AssertionError("a misspelt name must raise AttributeError")
