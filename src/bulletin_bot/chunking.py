"""Article -> chunks: sentence-aware spans that never cross articles.

A chunk is a run of whole sentences of about `target` characters; consecutive chunks share
`overlap` sentences so an answer that straddles a boundary is still whole in one chunk.
Offsets index into `Article.text`, so quotes are cut from the original verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

from .text import sentence_spans


@dataclass(frozen=True)
class ChunkerSettings:
    target: int = 220  # characters; chosen by measurement (see README, "How the pieces were chosen" → Chunks)
    overlap: int = 1  # sentences shared with the previous chunk
    max_chars: int = 600  # a single sentence longer than this is split hard

    def as_dict(self) -> dict[str, int]:
        return {"target": self.target, "overlap": self.overlap, "max_chars": self.max_chars}


def _split_long(start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    if end - start <= max_chars:
        return [(start, end)]
    return [(s, min(s + max_chars, end)) for s in range(start, end, max_chars)]


def chunk_spans(text: str, settings: ChunkerSettings = ChunkerSettings()) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks of one article's text."""
    sentences: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        sentences.extend(_split_long(s, e, settings.max_chars))
    if not sentences:
        return []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - sentences[i][0] <= settings.target:
            j += 1
        spans.append((sentences[i][0], sentences[j][1]))
        if j + 1 >= len(sentences):
            break
        # step forward, keeping `overlap` sentences, but always make progress
        i = max(j + 1 - settings.overlap, i + 1)
    return spans
