"""The README and the documentation site say only what runs: every command they show exists with the
subcommands and flags shown, every link resolves, every console script and front end has its page."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MAP_PYTHON = ROOT / ".venv-map" / "bin" / "python"
README_LIMIT = 12_000  # characters: one screen or two
SEPARATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "(", ")", "#"}


def console_scripts() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict((part.strip() for part in line.split("=")) for line in lines)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def code_lines(text: str) -> list[str]:
    """Lines of shell blocks (continuations joined) and inline code spans (diagrams and YAML are not commands)."""
    lines = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S):
        lines += block.replace("\\\n", " ").splitlines()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    lines += re.findall(r"`([^`\n]+)`", prose)
    return lines


def invocations(line: str) -> list[tuple[str, list[str]]]:
    """(program, arguments) for each CodeBrain program in a shell line; a program is a console script
    or ``-m MODULE`` of the project's packages."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: prose, not a command
        return []
    scripts = console_scripts()
    found = []
    for i, token in enumerate(tokens):
        name = token.rsplit("/", 1)[-1]
        if name in scripts:
            program, rest = name, tokens[i + 1:]
        elif token == "-m" and i + 1 < len(tokens) and tokens[i + 1].split(".")[0] in ("codebrain", "app", "bids_app"):
            program, rest = f"-m {tokens[i + 1]}", tokens[i + 2:]
        else:
            continue
        args = []
        for t in rest:
            if t in SEPARATORS or t.startswith("#"):
                break
            args.append(t)
        found.append((program, args))
    return found


@cache
def help_text(program: str) -> str:
    if program.startswith("-m "):
        module = program[3:]
        python = MAP_PYTHON if module.split(".")[0] == "app" else Path(sys.executable)
        cmd = [str(python), "-m", module]
    else:
        cmd = [str(Path(sys.executable).parent / program)]
    cmd.append("--help")
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, f"{' '.join(cmd)}: {result.stderr.strip()[-300:]}"
    return result.stdout


def positional_choices(program: str) -> set[str]:
    """The choices of a positional argument in the usage line (``codebrain-train``'s stage)."""
    tokens = help_text(program).split("\n\n")[0].split()
    return {c for prev, tok in zip(tokens, tokens[1:]) if tok.startswith("{") and not prev.lstrip("[").startswith("-")
            for c in tok.strip("{}[]").split(",")}


def shown_commands() -> list[tuple[str, str, list[str]]]:
    return [(page.relative_to(ROOT).as_posix(), program, args) for page in pages()
            for line in code_lines(page.read_text()) for program, args in invocations(line)]


def test_the_readme_is_one_screen_or_two():
    assert len((ROOT / "README.md").read_text()) <= README_LIMIT


def test_the_readme_shows_both_commands_and_every_console_script():
    text = (ROOT / "README.md").read_text()
    assert "scripts/setup.sh && scripts/demo.sh" in text and "scripts/setup.sh && scripts/test.sh" in text
    shown = {program for _, program, _ in shown_commands()}
    assert set(console_scripts()) <= shown


def test_the_parser_finds_commands_flags_and_modules():
    assert invocations("codebrain-eval --model brats --baseline mean|quadratic  # x --nope") == [
        ("codebrain-eval", ["--model", "brats", "--baseline", "mean"])]
    assert invocations("torchrun --nproc_per_node 4 -m codebrain.train stage1 --data D") == [
        ("-m codebrain.train", ["stage1", "--data", "D"])]
    assert invocations(".venv/bin/codebrain-synth --input T1w=a.nii.gz") == [
        ("codebrain-synth", ["--input", "T1w=a.nii.gz"])]


def test_every_flag_shown_is_one_the_command_takes():
    """A renamed flag or subcommand fails here, on the page that still shows the old one."""
    wrong = []
    for page, program, args in shown_commands():
        program = "codebrain-train" if program == "-m codebrain.train" else program
        choices = positional_choices(program)
        if choices and args and args[0].isidentifier() and args[0] not in choices:
            wrong.append((page, program, args[0]))
        text = help_text(program)
        for arg in args:
            flag = arg.split("=")[0]
            known = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
            if re.fullmatch(r"--?[A-Za-z][\w-]*", flag) and not known:
                wrong.append((page, program, flag))
    assert sorted(set(wrong)) == []


def test_links_resolve():
    """Relative links of the README and the pages point at files that exist (mkdocs checks anchors)."""
    broken = []
    for page in pages():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append((page.relative_to(ROOT).as_posix(), target))
    assert broken == []


def test_the_site_covers_every_command_front_end_and_the_api():
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = set(re.findall(r"[\w/-]+\.md", str(nav)))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert listed == on_disk  # every page reachable, no nav entry without a page
    usage = " ".join(p.read_text() for p in (DOCS / "usage").glob("*.md"))
    assert [s for s in console_scripts() if s not in usage] == []
    assert {"usage/bids-app.md", "usage/map.md"} <= listed
    api = (DOCS / "api.md").read_text()
    for name in ("Synthesizer", "SynthesisResult", "codebrain.train.trainer", "codebrain.train.stages",
                 "codebrain.evaluation.protocol", "codebrain.evaluation.baselines"):
        assert name in api


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "mkdocs").exists(), reason="mkdocs comes with scripts/setup.sh")
def test_the_site_builds_strictly(tmp_path):
    """Warnings (a broken link, a missing page, a docstring griffe cannot read) fail the build."""
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    api = (tmp_path / "api" / "index.html").read_text()
    assert "SynthesisResult" in api and "GraderTrainer" in api and "fit_quadratic" in api


@pytest.mark.parametrize("name", ["brats", "ixi"])
def test_model_cards_are_rendered_from_model_json(name):
    """The card a user reads (the weights' README.md and its copy in docs/models.md) says what model.json
    says, including which sources chose the recipe (validation) and which chose nothing (test): a hand
    edit or a stale card fails here."""
    from codebrain.model.io import read_model_info

    spec = importlib.util.spec_from_file_location("model_card", ROOT / "scripts" / "model_card.py")
    assert spec and spec.loader
    card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card)
    readme = (ROOT / "codebrain" / "weights" / name / "README.md").read_text()
    assert readme == card.render(name, read_model_info(name))
    header = readme.splitlines()[2]
    expected = {"brats": "validation: this source chose the recipe", "ixi": "test: nothing was chosen on it"}
    assert expected[name] in header and header in (DOCS / "models.md").read_text()
