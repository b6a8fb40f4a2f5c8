"""Labelled short reviews written for rlft: seeded templates filled from hand-written word lists."""

from __future__ import annotations

import random
import re
from typing import Any

__all__ = ["ITEMS", "POSITIVE_WORDS", "NEGATIVE_WORDS", "TEMPLATES", "generate_reviews"]

ITEMS = (
    "the pasta", "the soup", "the service", "the waiter", "the dessert", "this restaurant", "the coffee",
    "the pizza", "the breakfast buffet", "this bakery",
    "this movie", "the plot", "the acting", "the soundtrack", "the ending", "this series", "the documentary",
    "this phone", "the battery", "these headphones", "this laptop", "the charger", "this blender", "the keyboard",
    "this vacuum cleaner", "the camera", "this backpack", "these running shoes",
    "the hotel room", "the hotel staff", "the bed", "the pool", "the check-in", "this campsite",
    "this book", "the story", "the characters", "the audiobook", "the museum tour", "the concert",
    "the delivery", "the customer support", "this app", "the online course", "the haircut", "the bike repair",
)
POSITIVE_WORDS = ("great", "excellent", "wonderful", "fantastic", "superb", "lovely", "amazing", "outstanding",
                  "brilliant", "delightful", "perfect", "impressive", "enjoyable", "pleasant", "terrific")
NEGATIVE_WORDS = ("terrible", "awful", "horrible", "disappointing", "dreadful", "poor", "bad", "useless",
                  "boring", "unpleasant", "lousy", "frustrating", "annoying", "pathetic", "miserable")
_ARTICLE = re.compile(r"\b([Aa]) ([aeiou])")
CLOSERS = {
    "positive": ("I would gladly buy it again.", "Five stars from me.", "I will definitely be back.",
                 "Totally worth it.", "I recommend it to everyone.", "It made my day."),
    "negative": ("Never again.", "One star, and that is generous.", "I want my money back.",
                 "What a waste of time.", "I do not recommend it.", "It ruined my day."),
}
TEMPLATES = {
    "positive": (
        "{Item} {was} {w1}.", "I loved {item}; {it} {was} {w1}.", "{Item} {was} {w1} and {w2}.",
        "{Item} {was} {w1}. {closer}", "What a {w1} experience: {item} exceeded my expectations.",
        "Highly recommended, {item} {was} {w1}.", "{Item} {is_} {w1} and worth every penny.",
        "I was really impressed by {item}. {closer}", "Honestly, {item} {was} {w1} from start to finish.",
        "{Item} turned out {w1}, better than I hoped.", "Everything about {item} was {w1}. {closer}",
        "{Item} {was} not {neg} at all; {it} {was} {w1}.",
    ),
    "negative": (
        "{Item} {was} {w1}.", "I hated {item}; {it} {was} {w1}.", "{Item} {was} {w1} and {w2}.",
        "{Item} {was} {w1}. {closer}", "What a {w1} experience: {item} let me down.",
        "Not recommended, {item} {was} {w1}.", "{Item} {is_} {w1} and a waste of money.",
        "I was really disappointed by {item}. {closer}", "Honestly, {item} {was} {w1} from start to finish.",
        "{Item} turned out {w1}, worse than I feared.", "Everything about {item} was {w1}. {closer}",
        "{Item} {was} not {pos} at all; {it} {was} {w1}.",
    ),
}


def _fill(template: str, item: str, label: str, rng: random.Random) -> str:
    own, other = (POSITIVE_WORDS, NEGATIVE_WORDS) if label == "positive" else (NEGATIVE_WORDS, POSITIVE_WORDS)
    w1, w2 = rng.sample(own, 2)
    plural = item.startswith("these ")
    text = template.format(item=item, Item=item[0].upper() + item[1:], w1=w1, w2=w2,
                           was="were" if plural else "was", is_="are" if plural else "is",
                           it="they" if plural else "it",
                           closer=rng.choice(CLOSERS[label]), pos=rng.choice(POSITIVE_WORDS),
                           neg=rng.choice(NEGATIVE_WORDS))
    return _ARTICLE.sub(r"\1n \2", text)


def generate_reviews(n: int = 600, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct labelled reviews (half positive, half negative), reproducible from ``seed``.

    Each row: ``text``, ``label`` (``positive`` / ``negative``) and ``item`` (what it reviews).

    >>> rows = generate_reviews(4, seed=1)
    >>> sorted(r["label"] for r in rows)
    ['negative', 'negative', 'positive', 'positive']
    >>> rows == generate_reviews(4, seed=1), len({r["text"] for r in generate_reviews(600)})
    (True, 600)
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(n * 50):
        if len(rows) >= n:
            break
        label = ("positive", "negative")[len(rows) % 2]
        item = rng.choice(ITEMS)
        text = _fill(rng.choice(TEMPLATES[label]), item, label, rng)
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": label, "item": item})
    if len(rows) < n:
        raise ValueError(f"only {len(rows)} distinct reviews can be generated, asked for {n}")
    return rows
