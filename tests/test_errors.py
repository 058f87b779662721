"""One base for every error the project raises on purpose, all in errors.py; one CLI handler."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import bulletin_bot
from bulletin_bot import errors

PACKAGE = Path(bulletin_bot.__file__).parent


def test_every_exception_class_is_in_errors_py_and_derives_from_the_one_base():
    defined_elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception")) for b in node.bases
            ):
                defined_elsewhere.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert defined_elsewhere == []
    for name, obj in vars(errors).items():
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, errors.BulletinError), name


def test_a_bad_question_file_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"question": "no q key"}) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "eval", "--questions", str(bad), "--index", str(tmp_path / "i")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("bulletin-bot: error: ")
