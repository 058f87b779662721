"""The index folder: immutable versions, an atomic `current` switch, validation on load, one writer,
and every query of a version's docs.sqlite (see `layout` for the folder's layout)."""

from .docs import ArticleRecord, IssueRecord, read_issues
from .layout import (
    ARTICLE_DTYPE,
    BASELINE_SAMPLE,
    CHUNK_DTYPE,
    EXACT_SEARCH_LIMIT,
    FORMAT_VERSION,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    IVF_LISTS,
    IVF_NPROBE,
    ISSUE_DTYPE,
    KEEP_VERSIONS,
    IndexPaths,
    date_int,
    new_version_name,
    read_manifest,
)
from .loaded import LoadedIndex, load_current
from .vector_cache import VectorCache, text_key
from .write import VersionData, build_lock, clean_up, switch_current, write_version

__all__ = [
    "ARTICLE_DTYPE", "BASELINE_SAMPLE", "CHUNK_DTYPE", "EXACT_SEARCH_LIMIT", "FORMAT_VERSION",
    "HNSW_EF_CONSTRUCTION", "HNSW_EF_SEARCH", "HNSW_M", "IVF_LISTS", "IVF_NPROBE", "ISSUE_DTYPE", "KEEP_VERSIONS", "ArticleRecord",
    "IndexPaths", "IssueRecord", "LoadedIndex", "VectorCache", "VersionData", "build_lock", "clean_up",
    "date_int", "load_current", "new_version_name", "read_issues", "read_manifest", "switch_current",
    "text_key", "write_version",
]
