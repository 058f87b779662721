"""Index edge cases an admin meets: an emptied corpus."""

from __future__ import annotations

import shutil

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService

from conftest import SAMPLE


def test_deleting_every_issue_empties_the_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    service = BulletinService(Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "c"),
                              embedder=HashEmbedder())
    service.reindex()
    assert service.ask("红书房建了多少个").found
    (corpus / "455.txt").unlink()
    report = service.reindex()
    assert (report.removed, report.issues) == (1, 0)
    answer = service.ask("红书房建了多少个")
    assert not answer.found and answer.results == ()
    assert service.issues() == [] and service.latest() is None
    shutil.copy(SAMPLE, corpus / "455.txt")
    again = service.reindex()
    assert again.embedded == 0 and again.reused > 0  # the vectors were kept in the cache
    assert service.ask("红书房建了多少个").found


def test_a_new_parser_version_reparses_every_file_but_embeds_nothing(tmp_path, monkeypatch):
    import bulletin_bot.indexer as indexer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    service = BulletinService(Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "c"),
                              embedder=HashEmbedder())
    first = service.reindex()
    assert service.reindex().version == first.version  # same parser: nothing to do
    monkeypatch.setattr(indexer, "PARSER_VERSION", "a-newer-parser")
    report = service.reindex()
    assert report.version != first.version
    assert (report.added, report.unchanged, report.embedded) == (1, 0, 0)
    assert service.ask("红书房建了多少个").found


def test_an_index_of_another_model_or_format_is_refused_with_a_fix(tmp_path):
    import json

    from bulletin_bot.embedding import HashEmbedder as Hash
    from bulletin_bot.errors import IndexInvalid

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    settings = Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "c", model="hash")
    BulletinService(settings, embedder=Hash()).reindex()

    # a process holding another model asks with the index's own (loaded by the name it records)
    other = BulletinService(settings, embedder=Hash(dimension=32))
    assert other.ask("红书房建了多少个").found

    # an index whose model no name here loads is refused, with the fix
    current = (tmp_path / "index" / "current").resolve()
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    (current / "manifest.json").write_text(json.dumps({**manifest, "model_id": "hash-char12-999"}), encoding="utf-8")
    with pytest.raises(IndexInvalid) as refused:
        BulletinService(settings, embedder=Hash(dimension=32)).ask("红书房建了多少个")
    assert "hash-char12-999" in str(refused.value)
    assert "re-index" in str(refused.value) and "bulletin-bot index" in str(refused.value)

    manifest["format_version"] = 999
    (current / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    fresh = BulletinService(settings, embedder=Hash())
    with pytest.raises(IndexInvalid) as refused:
        fresh.ask("红书房建了多少个")
    assert "format 999" in str(refused.value) and "re-index" in str(refused.value)


def test_past_the_exact_search_limit_an_inverted_file_finds_what_exact_search_finds(monkeypatch):
    """Above store.EXACT_SEARCH_LIMIT chunks the vectors go into an inverted file (IVF), probed
    IVF_NPROBE lists wide: the nearest vectors are still found (here with the limit lowered)."""
    import faiss
    import numpy as np

    from bulletin_bot.store import write

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 32)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 6000)] + 0.05 * rng.normal(size=(6000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(write, "EXACT_SEARCH_LIMIT", 1000)
    index = write._build_faiss(vectors)
    assert isinstance(index, faiss.IndexIVFFlat) and index.ntotal == 6000 and index.nlist == 6000 // 64
    queries = vectors[:50] + 0.01 * rng.normal(size=(50, 32)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.9
    monkeypatch.setattr(write, "EXACT_SEARCH_LIMIT", 10_000)
    assert isinstance(write._build_faiss(vectors), faiss.IndexFlatIP)  # below it: exact
