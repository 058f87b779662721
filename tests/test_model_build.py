"""The one-time model build says first what it builds, that it happens once and takes about two
minutes, and where the model goes: before any progress bar."""

from __future__ import annotations

from bulletin_bot import cli
from bulletin_bot import static_model
from bulletin_bot.errors import StaticModelError


def test_model_build_says_what_where_and_how_long_before_the_bar(tmp_path, monkeypatch, capsys):
    def teacher(vocab, work_dir, mode="query", progress=None, **kwargs):
        progress and progress(static_model.Progress("embed", 0, len(vocab), ""))
        raise StaticModelError("stopped here by the test")  # the real teacher takes two minutes

    monkeypatch.setattr(static_model, "teacher_vectors", teacher)
    monkeypatch.setenv("BULLETIN_BOT_CACHE", str(tmp_path))
    assert cli.main(["model", "build"]) == 1
    err = capsys.readouterr().err
    said = err.index("building the default model (static-zh) once")
    assert "about 2 minutes" in err and str(tmp_path / "models" / "static-zh") in err
    assert said < err.index("embed") and said < err.index("stopped here by the test")
