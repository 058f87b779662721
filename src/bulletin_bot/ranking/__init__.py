"""Question -> ranked articles, and whether they answer it.

The parts form a line, each importing only the ones above it (never this package face):
    candidate      what the stages hand each other: settings, hits, candidates, the result
    question       restrictions, dates as evidence, words about the bulletins
    specifics      what the question pins down (第三届, “…”, a place) and whether a passage agrees
    first_stage    BM25 + the dense model's nearest chunks, fused, dates as credit
    second_stage   the best articles re-scored as a reader would (learned weights)
    answerability  whether the best articles answer, and if not, why (one reason line)
    search         the stages put together: retrieve()
"""

from .candidate import ArticleHit, Retrieval, RetrievalSettings
from .question import ParsedQuestion, describe_filters, parse_question
from .search import candidates, retrieve

__all__ = ["ArticleHit", "ParsedQuestion", "Retrieval", "RetrievalSettings", "candidates", "describe_filters",
           "parse_question", "retrieve"]
