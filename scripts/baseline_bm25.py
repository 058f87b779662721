#!/usr/bin/env python3
"""The plain baseline every ranking claim is measured against: bm25s + jieba.

Articles are cut into passages of about 260 characters (whole sentences where they fit), the
title is put in front of each article's first passage, jieba cuts them, and bm25s ranks them.
An article ranks as its best passage; its quote is that passage. No filters, no threshold:
it never says "not found". About thirty lines, as anyone would write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import bm25s
import jieba
import numpy as np

PASSAGE_CHARS = 260
_SENTENCE = re.compile(r"[^。！？；\n]*[。！？；]?[”’」』）)]*\n?")
_WORD = re.compile(r"[\w\u3400-\u9fff]")


def passages(text: str, size: int = PASSAGE_CHARS) -> list[str]:
    out, cur = [], ""
    for s in (m.group(0) for m in _SENTENCE.finditer(text)):
        if cur and len(cur) + len(s) > size:
            out.append(cur)
            cur = ""
        cur += s
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out if p.strip()]


def tokens(text: str) -> list[str]:
    return [t for t in jieba.lcut_for_search(text) if _WORD.search(t)]


@dataclass
class Baseline:
    retriever: bm25s.BM25
    owners: list[int]  # passage -> article key
    texts: list[str]

    @classmethod
    def build(cls, articles: list[tuple[int, str, str]]) -> "Baseline":
        """`articles`: (key, title, text)."""
        owners, texts = [], []
        for key, title, text in articles:
            for i, p in enumerate(passages(text)):
                owners.append(key)
                texts.append(f"{title}\n{p}" if i == 0 else p)
        retriever = bm25s.BM25()
        retriever.index([tokens(t) for t in texts], show_progress=False)
        return cls(retriever, owners, texts)

    def search(self, question: str, k: int = 10) -> list[tuple[int, str, float]]:
        """The best `k` articles: (key, best passage, score)."""
        q = tokens(question)
        scores = self.retriever.get_scores(q) if q else np.zeros(len(self.texts))
        out, seen = [], set()
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] <= 0 or len(out) >= k:
                break
            if self.owners[i] not in seen:
                seen.add(self.owners[i])
                out.append((self.owners[i], self.texts[i], float(scores[i])))
        return out
