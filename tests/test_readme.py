"""The README's shell examples work as written after its two commands: every command they run
exists there, `bulletin-bot` is put on the PATH before it is used bare, and each `bulletin-bot`
line is one the command accepts (its subcommand, options and choices)."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from bulletin_bot.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
ACTIVATE = ". .venv/bin/activate"
# what a fresh Debian/Ubuntu machine has after `make demo` and `make test` (with the venv activated)
COMMANDS = {"make", ".", "echo", "openssl", "python3", "bulletin-bot"}


def shell_lines() -> list[str]:
    """Each line of the README's ```sh blocks that runs something."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    return [line for block in blocks for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def commands(line: str) -> list[list[str]]:
    """The simple commands of a line, split at pipes and `;`, without VAR=value prefixes,
    redirections or the comment; a $(…) substitution stands as one word."""
    lexer = shlex.shlex(re.sub(r"\$\([^)]*\)", "SUBSTITUTED", line), posix=True, punctuation_chars="|;&<>")
    lexer.whitespace_split = True
    out: list[list[str]] = [[]]
    redirect = False
    for word in lexer:
        if word in ("|", ";", "&&", "||", "&"):
            out.append([])
        elif word in ("<", ">", ">>"):
            redirect = True
        elif redirect:
            redirect = False
        else:
            out[-1].append(word)
    simple = []
    for words in out:
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        if words:
            simple.append(words)
    return simple


def test_the_readme_has_examples():
    assert len(shell_lines()) >= 10


def test_bulletin_bot_is_on_the_path_before_the_examples_use_it():
    lines = [commands(line) for line in shell_lines()]
    assert lines[:2] == [[["make", "demo"]], [["make", "test"]]]
    first_bare = next(i for i, line in enumerate(lines) if any(c[0] == "bulletin-bot" for c in line))
    assert [ACTIVATE.split()] in lines[2:first_bare]


def test_every_command_of_the_examples_exists_after_the_two_commands():
    for line in shell_lines():
        for command in commands(line):
            name = command[0]
            assert name in COMMANDS or name.startswith(".venv/bin/"), f"{name!r} in README line: {line}"


def test_every_bulletin_bot_example_is_accepted_by_the_command(capsys):
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    seen = set()
    for line in shell_lines():
        for command in commands(line):
            if command[0] not in ("bulletin-bot", ".venv/bin/bulletin-bot"):
                continue
            args = command[1:]
            assert args and args[0] in subcommands, line
            helped = subcommands[args[0]].format_help()
            for option in (a.split("=")[0] for a in args if a.startswith("-") and a != "-"):
                assert option in helped, f"{option} is not in `bulletin-bot {args[0]} --help` ({line})"
            try:
                parser.parse_args(args)
            except SystemExit:
                raise AssertionError(f"bulletin-bot refuses README line: {line}\n{capsys.readouterr().err}")
            seen.add(args[0])
    assert {"ask", "index", "parse", "serve", "web"} <= seen


def test_the_readme_says_what_torch_build_comes_and_how_to_choose_the_cpu_one():
    root = README.parent
    pin = re.search(r'"torch==([0-9.]+)"', (root / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    text = README.read_text(encoding="utf-8")
    assert f"pip install torch=={pin} --index-url https://download.pytorch.org/whl/cpu" in text
    assert "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make demo" in text
    assert "CUDA" in text and f"{pin}+cpu" in text
    # the Makefile no longer claims the pin alone brings the CPU build
    assert "so pip takes the CPU build, not CUDA" not in (root / "Makefile").read_text(encoding="utf-8")
