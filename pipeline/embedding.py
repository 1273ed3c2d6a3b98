"""A static multilingual text embedding: the mean WordLlama token vector of a text, unit length.

WordLlama's weights ship inside its wheel (loaded from the package folder, downloads disabled), so it runs
offline on the CPU. Used by the relevance model (a feature block) and by same-story matching (the cosine of two
reports: paraphrases of one event share few words but point the same way)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
from scipy import sparse

from pipeline.word_memo import WordMemo

EMBEDDING_DIM = 128  # WordLlama's matryoshka embeddings may be truncated; 128 keeps most of their signal


@lru_cache(maxsize=1)
def _embedding_table():  # type: ignore[no-untyped-def]
    """WordLlama's token table and tokenizer (its weights ship inside the wheel: point the cache at the package
    and never download). Pooling is done here: one gather and one reduceat per batch, no padding."""
    import wordllama
    from wordllama import WordLlama

    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True,
                           dim=256, trunc_dim=EMBEDDING_DIM)
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    return np.ascontiguousarray(model.embedding[:, :EMBEDDING_DIM], dtype=np.float32), tokenizer


# The tokenizer (SentencePiece BPE) never merges across spaces, so a text's tokens are its words' tokens: each
# distinct word is tokenized once and remembered, which makes the embedding ~10x cheaper than tokenizing texts.
def _tokenize_words(words: list[str]) -> list[list[int]]:
    _, tokenizer = _embedding_table()
    return [encoding.ids for encoding in tokenizer.encode_batch(words, add_special_tokens=False)]


WORD_TOKENS: WordMemo[list[int]] = WordMemo(_tokenize_words)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Mean of the token vectors of each text, unit length (zeros for a text with no tokens)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    table, _ = _embedding_table()
    words = [text.split() for text in texts]
    cache = WORD_TOKENS.ensure(chain.from_iterable(words))
    flat = [cache[w] for row in words for w in row]
    ids = np.fromiter(chain.from_iterable(flat), dtype=np.int64)
    tokens_per_word = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    row_of_word = np.repeat(np.arange(len(words)), np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    row_of_token = np.repeat(row_of_word, tokens_per_word)
    np.clip(ids, 0, table.shape[0] - 1, out=ids)
    counts = sparse.csr_matrix((np.ones(len(ids), dtype=np.float32), (row_of_token, ids)),
                               shape=(len(words), table.shape[0]))
    out = np.asarray(counts @ table, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def quantised(vectors: np.ndarray) -> list[bytes]:
    """Unit vectors as int8 bytes (128 bytes each): compact enough to store with every story signature."""
    return [row.tobytes() for row in np.clip(np.rint(vectors * 127.0), -127, 127).astype(np.int8)]

