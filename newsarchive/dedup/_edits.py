"""Light, seeded edits of a real text: the near-duplicate pairs the bench and tests measure on.

A repost "lightly edited" by another site: some words replaced or deleted (5-20 % of them) and,
half of the time, one paragraph moved. Deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import random


def light_edit(text: str, rng: random.Random, low: float = 0.05, high: float = 0.20) -> str:
    """``text`` with a fraction in [low, high] of its words replaced or deleted, a paragraph
    possibly moved; replacement words are drawn from the text itself."""
    paragraphs = [p.split() for p in text.split("\n") if p.strip()]
    vocabulary = [word for paragraph in paragraphs for word in paragraph]
    if not vocabulary:
        return text
    rate = rng.uniform(low, high)
    edited = []
    for paragraph in paragraphs:
        words = []
        for word in paragraph:
            if rng.random() < rate:
                if rng.random() < 0.5:
                    words.append(rng.choice(vocabulary))
                # else: deleted
            else:
                words.append(word)
        edited.append(words)
    if len(edited) > 2 and rng.random() < 0.5:
        moved = edited.pop(rng.randrange(len(edited)))
        edited.insert(rng.randrange(len(edited) + 1), moved)
    return "\n".join(" ".join(words) for words in edited)
