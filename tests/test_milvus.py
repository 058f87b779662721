"""The index on Milvus (BULLETIN_BOT_INDEX_BACKEND=milvus), against a real engine.

The tests start milvus-lite 2.5 (Milvus's own C++ core, with its Rust jieba feeding BM25) in
server mode on a free local port, as a cluster's Milvus would be reached, and skip with the
reason when it cannot start. Nothing of pymilvus is mocked.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.models import QueryFilters
from bulletin_bot.service import BulletinService
from bulletin_bot.store import IndexPaths

from conftest import NEW_FACT, NEW_ISSUE, NEW_QUESTION, SAMPLE

QUESTION = "泗洪县理论宣讲做法"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _engine_folder() -> Path | None:
    """milvus-lite 2.5's files: where `make install-dev` puts them (BULLETIN_BOT_TEST_MILVUS_LITE,
    a `pip install --target` of the wheel: milvus-lite 2.5 cannot share an environment with
    torch, since it imports pkg_resources), else an installed milvus_lite 2.5."""
    named = os.environ.get("BULLETIN_BOT_TEST_MILVUS_LITE", "").strip()
    if named:
        folder = Path(named) / "milvus_lite"
        return folder if (folder / "lib" / "milvus").is_file() else None
    try:
        import milvus_lite
    except ImportError:
        return None
    if not getattr(milvus_lite, "__version__", "").startswith("2.5"):
        return None
    return Path(milvus_lite.__file__).parent


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory):
    """A milvus-lite 2.5 server (Milvus's C++ core) for this module's tests, run as its own
    process on a free local port, as a cluster's Milvus would be reached; its address."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        pytest.skip(f"needs pymilvus (the dev install has it: make install-dev): {exc}")
    engine = _engine_folder()
    if engine is None:
        pytest.skip("needs milvus-lite 2.5's engine: `make install-dev` puts it in .milvus-lite and "
                    "`make test` names it in BULLETIN_BOT_TEST_MILVUS_LITE")
    folder = tmp_path_factory.mktemp("milvus")
    port = _free_port()
    lib = engine / "lib"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
    log = (folder / "milvus.log").open("wb")
    server = subprocess.Popen([str(lib / "milvus"), str(folder / "milvus.db"), f"127.0.0.1:{port}", "ERROR"],
                              cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            pytest.skip(f"milvus-lite 2.5 exited at start ({server.returncode}): "
                        f"{(folder / 'milvus.log').read_text(errors='replace')[-500:]}")
        try:
            MilvusClient(uri=uri).list_collections()
            break
        except Exception as exc:  # not listening yet
            if time.monotonic() > deadline:
                server.kill()
                pytest.skip(f"milvus-lite 2.5 started but does not answer at {uri}: {exc}")
            time.sleep(0.5)
    yield uri
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def _service(base: Path, backend: str, uri: str = "") -> BulletinService:
    settings = Settings(corpus=base / "corpus", index=base / f"index-{backend}", cache=base / "cache",
                        model="hash", reader="none", index_backend=backend, milvus_uri=uri)
    return BulletinService(settings, embedder=HashEmbedder())


@pytest.fixture(scope="module")
def sample(tmp_path_factory, milvus_uri):
    """The shipped issue 455 indexed twice: embedded, and on Milvus."""
    base = tmp_path_factory.mktemp("sample")
    (base / "corpus").mkdir()
    shutil.copy(SAMPLE, base / "corpus" / SAMPLE.name)
    services = {}
    for backend in ("embedded", "milvus"):
        services[backend] = _service(base, backend, milvus_uri)
        services[backend].reindex()
    return base, services


def _cited(answer) -> list[tuple[int, str]]:
    return [(q.citation.issue, q.citation.title) for q in answer.results]


def test_milvus_backend_answers_with_the_embedded_citation(sample, milvus_uri) -> None:
    _, services = sample
    embedded, milvus = (services[b].ask(QUESTION) for b in ("embedded", "milvus"))
    assert milvus.found and embedded.found
    assert _cited(milvus)[0] == _cited(embedded)[0]
    assert _cited(milvus)[0][1].startswith("泗洪县")
    assert "向阳花" in milvus.results[0].quote
    status = services["milvus"].stats()
    assert status.backend.startswith(f"milvus at {milvus_uri}, collection bulletin_bot_")
    assert services["embedded"].stats().backend == "embedded"
    # Milvus searches the vectors: no FAISS index is built for its version
    assert not (services["milvus"]._current().path / "dense.faiss").exists()
    assert (services["embedded"]._current().path / "dense.faiss").is_file()


def test_index_status_names_the_backend_and_its_server(sample, milvus_uri) -> None:
    base, _ = sample
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_BOT_")}
    out = subprocess.run(
        [sys.executable, "-m", "bulletin_bot.cli", "index", "--status", "--index", str(base / "index-milvus"),
         "--model", "hash"], cwd=base, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"backend:  milvus at {milvus_uri}, collection bulletin_bot_" in out.stdout


def test_milvus_bm25_cuts_chinese_into_words(sample) -> None:
    _, services = sample
    index = services["milvus"]._current()
    texts = [index.article(int(index.chunk_article[i])).text for i in range(len(index.chunks))]
    everywhere = QueryFilters()
    ids, scores = index.milvus.bm25_top("向阳花", everywhere, 50)
    holding = {i for i, t in enumerate(texts) if "向阳花" in t}
    assert len(ids) and set(ids.tolist()) <= holding and (scores > 0).all()
    # 理论宣讲 is cut into 理论 + 宣讲: the single character 宣 is no token of the chunks, and
    # punctuation is no token either (the cnalphanumonly filter)
    assert len(index.milvus.bm25_top("理论宣讲", everywhere, 50)[0])
    assert len(index.milvus.bm25_top("宣", everywhere, 50)[0]) == 0
    assert len(index.milvus.bm25_top("，", everywhere, 50)[0]) == 0


def test_a_rare_word_is_milvus_bm25s_first_chunk_and_is_answered(sample) -> None:
    _, services = sample
    index = services["milvus"]._current()
    ids, _ = index.milvus.bm25_top("洪声论理", QueryFilters(), 5)
    assert "洪声论理" in index.article(int(index.chunk_article[ids[0]])).text
    answer = services["milvus"].ask("洪声论理宣讲品牌")
    assert answer.found
    assert "洪声论理" in answer.results[0].quote


def test_restrictions_are_milvus_filter_expressions(sample) -> None:
    _, services = sample
    index = services["milvus"]._current()
    sections = [index.sections[index.articles["section"][a]] for a in index.chunk_article]
    ids, _ = index.milvus.bm25_top("宣讲", QueryFilters(section="经验交流"), 100)
    assert len(ids) and {sections[i] for i in ids} == {"经验交流"}
    assert len(index.milvus.bm25_top("宣讲", QueryFilters(issue=455), 100)[0])
    assert not len(index.milvus.bm25_top("宣讲", QueryFilters(issue=999), 100)[0])
    assert len(index.milvus.dense_top(np.ones(index.vectors.shape[1], dtype=np.float32),
                                      QueryFilters(date_from="2023-12-01", date_to="2023-12-31"), 5)) == 5
    assert not len(index.milvus.dense_top(np.ones(index.vectors.shape[1], dtype=np.float32),
                                          QueryFilters(date_from="2024-01-01"), 5))
    answer = services["milvus"].ask("第455期 经验交流栏目 宣讲")
    assert answer.filters.section == "经验交流" and answer.found
    assert {q.citation.section for q in answer.results} == {"经验交流"}


CHILD = r"""
import os, signal, sys
from pathlib import Path
from bulletin_bot import indexer
from bulletin_bot.store import milvus
from bulletin_bot.embedding import HashEmbedder

corpus, index, uri, marker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
milvus.INSERT_BATCH = 10
real_client = milvus._client

def client(u):
    c = real_client(u)
    real_insert = c.insert
    def insert(name, rows):
        real_insert(name, rows)
        marker.write_text(name)  # half the chunks written: the parent kills us now
        os.kill(os.getpid(), signal.SIGKILL)
    c.insert = insert
    return c

milvus._client = client
indexer.build_index(indexer.BuildOptions(corpus, index, "hash", backend="milvus", milvus_uri=uri), HashEmbedder())
print("finished", flush=True)
"""


def test_a_killed_reindex_leaves_the_old_collection_answering(tmp_path, milvus_uri, sample) -> None:
    from pymilvus import MilvusClient

    (tmp_path / "corpus").mkdir()
    shutil.copy(SAMPLE, tmp_path / "corpus" / SAMPLE.name)
    service = _service(tmp_path, "milvus", milvus_uri)
    service.reindex()
    old = service.stats()
    (tmp_path / "corpus" / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    marker = tmp_path / "killed-while-writing"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "corpus"), str(tmp_path / "index-milvus"), milvus_uri,
         str(marker)], capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    half_written = marker.read_text()
    client = MilvusClient(uri=milvus_uri)
    assert half_written in client.list_collections()

    # the running service and a new one still answer from the old version and its collection
    for svc in (service, _service(tmp_path, "milvus", milvus_uri)):
        assert svc.stats().version == old.version
        assert svc.ask(QUESTION).found
        assert NEW_FACT not in "".join(q.quote for q in svc.ask(NEW_QUESTION).results)

    # the next build completes, switches, and drops the half-written collection
    report = service.reindex()
    assert report.built and report.issues == 2
    assert half_written not in client.list_collections()
    assert NEW_FACT in service.ask(NEW_QUESTION).results[0].quote
    assert IndexPaths(tmp_path / "index-milvus").current_target().name == report.version
    # another index folder's collections on the same Milvus are not this build's to drop
    other = sample[1]["milvus"]
    assert other._current().milvus.collection in client.list_collections()
    assert other.ask(QUESTION).found


ASKER = r"""
import sys
from pathlib import Path
from bulletin_bot.config import Settings
from bulletin_bot.service import BulletinService

index = Path(sys.argv[1])
service = BulletinService(Settings(index=index, model="hash", reader="none"))
for _ in range(5):
    answer = service.ask(sys.argv[2])
print(service.stats().backend)
print(answer.results[0].citation.title if answer.found else "未找到")
"""


def test_two_processes_answer_from_one_engine(sample, milvus_uri) -> None:
    base, services = sample
    expected = services["embedded"].ask(QUESTION).results[0].citation.title
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_BOT_")}
    procs = [subprocess.Popen([sys.executable, "-c", ASKER, str(base / "index-milvus"), QUESTION], cwd=base,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        backend, title = out.strip().splitlines()[-2:]
        assert backend.startswith(f"milvus at {milvus_uri}")
        assert title == expected


def test_the_backend_setting_is_checked_and_the_default_uri_is_in_the_index_folder(tmp_path) -> None:
    from bulletin_bot.config import load_settings
    from bulletin_bot.errors import ConfigError

    with pytest.raises(ConfigError, match="BULLETIN_BOT_INDEX_BACKEND='elastic'.*embedded, milvus"):
        load_settings(env={"BULLETIN_BOT_INDEX_BACKEND": "elastic"}, cwd=tmp_path)
    settings = load_settings(env={"BULLETIN_BOT_INDEX_BACKEND": "milvus", "BULLETIN_BOT_INDEX": str(tmp_path / "ix")},
                             cwd=tmp_path)
    assert settings.index_backend == "milvus"
    assert settings.milvus_address == str(tmp_path / "ix" / "milvus.db")


def test_an_embedded_index_is_rebuilt_when_milvus_is_asked_for(tmp_path, milvus_uri) -> None:
    (tmp_path / "corpus").mkdir()
    shutil.copy(SAMPLE, tmp_path / "corpus" / SAMPLE.name)
    embedded = _service(tmp_path, "embedded")
    embedded.reindex()
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index-embedded", cache=tmp_path / "cache",
                        model="hash", reader="none", index_backend="milvus", milvus_uri=milvus_uri)
    service = BulletinService(settings, embedder=HashEmbedder())
    report = service.reindex()
    assert report.built and report.embedded == 0  # the vectors come from the cache
    assert service.stats().backend.startswith(f"milvus at {milvus_uri}")
    assert not service.reindex().built  # and then it is up to date
