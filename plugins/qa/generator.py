"""A seeded generator of reading-comprehension passages about invented people, towns and companies.

Every entity and attribute is made up, so the model cannot answer from memory, and every gold
answer is copied from the passage, so exact match is exact. Each passage carries several
questions; rows share a ``passage_id`` so the train/held-out split can keep passages whole.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["generate_passages", "passage_rows", "NameMaker"]

_FIRST = ("Al", "Bri", "Cor", "Da", "El", "Fen", "Gar", "Hal", "Isa", "Jo", "Ka", "Lor", "Mi", "Nor", "Os",
          "Pel", "Quin", "Ro", "Sa", "Tor", "Ul", "Ve", "Wyn", "Ya", "Zel")
_FIRST_END = ("ric", "na", "wen", "dor", "mira", "bel", "tan", "lia", "vin", "sa", "ro", "dra")
_LAST = ("Ash", "Brom", "Cald", "Dun", "Ember", "Fair", "Gold", "Hart", "Iver", "Kess", "Lang", "Marr",
         "North", "Pike", "Quill", "Red", "Stone", "Thorn", "Vale", "Wick")
_LAST_END = ("ford", "well", "by", "wood", "ley", "ton", "more", "field", "ridge", "croft")
_PLACE = ("Kels", "Brae", "Dorn", "Elm", "Fal", "Glen", "Harl", "Ives", "Lun", "Mor", "Nes", "Oak",
          "Pen", "Rav", "Sel", "Tam", "Ul", "Wend", "Yar", "Zen", "Ast", "Bel", "Crow", "Dal", "Fern",
          "Gil", "Hol", "Kin", "Lang", "Mar")
_PLACE_MID = ("", "en", "ing", "er", "s")
_PLACE_END = ("bury", "wick", "stead", "mouth", "port", "dale", "holm", "ham", "ford", "gate", "ton", "moor")
_RIVER = ("Lorn", "Avel", "Tessa", "Brin", "Odra", "Kell", "Mire", "Sable", "Vey", "Wren")
_BRAND = ("Drav", "Olv", "Trel", "Quor", "Bex", "Mant", "Solv", "Ferr", "Kiv", "Zant", "Pell", "Corv",
          "Arl", "Nuv", "Halc")
_BRAND_END = ("ix", "ane", "ow", "ra", "ley", "um", "ar", "io")
_INDUSTRY = (("Foods", "frozen pies"), ("Motors", "electric scooters"), ("Textiles", "wool blankets"),
             ("Software", "accounting software"), ("Shipping", "cargo boats"), ("Ceramics", "garden tiles"),
             ("Robotics", "warehouse robots"), ("Optics", "camera lenses"), ("Toys", "wooden puzzles"))
_JOBS = ("baker", "carpenter", "pilot", "nurse", "librarian", "architect", "chemist", "beekeeper",
         "journalist", "violinist", "surveyor", "potter")
_SUBJECTS = ("history", "physics", "botany", "music", "law", "geology", "economics", "painting")
_KNOWN_FOR = ("cheese market", "stone bridge", "glass museum", "spring fair", "old lighthouse",
              "cider mills", "rose gardens", "clock tower")
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five")


class NameMaker:
    """Invents unique names from syllables with a seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make: Any) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise ValueError(f"ran out of unique invented names after {len(self.used)}; generate fewer passages")

    def person(self) -> str:
        """A first and last name, e.g. 'Lorwen Thornby'."""
        r = self.rng
        return self._unique(lambda: f"{r.choice(_FIRST)}{r.choice(_FIRST_END)} {r.choice(_LAST)}{r.choice(_LAST_END)}")

    def town(self) -> str:
        """A town name, e.g. 'Kelsbury'."""
        r = self.rng
        return self._unique(lambda: f"{r.choice(_PLACE)}{r.choice(_PLACE_MID)}{r.choice(_PLACE_END)}")

    def company(self) -> tuple[str, str]:
        """A company name and its product, e.g. ('Dravix Foods', 'frozen pies')."""
        r = self.rng
        name = self._unique(lambda: f"{r.choice(_BRAND)}{r.choice(_BRAND_END)} {r.choice(_INDUSTRY)[0]}")
        return name, dict(_INDUSTRY)[name.split()[-1]]


def _person(n: NameMaker, r: random.Random) -> dict[str, Any]:
    name, town, (company, _), job, subject = n.person(), n.town(), n.company(), r.choice(_JOBS), r.choice(_SUBJECTS)
    year, kids = str(r.randint(1940, 2000)), r.randint(0, 5)
    she = r.choice(("She", "He"))
    article = "an" if job[0] in "aeiou" else "a"
    text = (f"{name} is {article} {job} who was born in {town} in {year}. {she} studied {subject} at university "
            f"and now works for {company}. {she} has {_NUMBER_WORDS[kids]} children.")
    kids_answers = ["no children", "none", "0"] if kids == 0 else [_NUMBER_WORDS[kids], str(kids)]
    qas = [(f"Where was {name} born?", [town]), (f"In what year was {name} born?", [year]),
           (f"What is {name}'s job?", [job]), (f"What did {name} study?", [subject]),
           (f"Which company does {name} work for?", [company]),
           (f"How many children does {name} have?", kids_answers)]
    return {"kind": "person", "context": text, "qas": qas}


def _town(n: NameMaker, r: random.Random) -> dict[str, Any]:
    town, mayor, river = n.town(), n.person(), r.choice(_RIVER)
    population, year = f"{r.randint(2, 95)},{r.randint(0, 9)}00", str(r.randint(1100, 1900))
    known = r.choice(_KNOWN_FOR)
    text = (f"{town} is a town on the River {river} with a population of {population}. It was founded in "
            f"{year} and is known for its {known}. The current mayor is {mayor}.")
    qas = [(f"Which river is {town} on?", [f"River {river}", river]),
           (f"What is the population of {town}?", [population]),
           (f"When was {town} founded?", [year]), (f"What is {town} known for?", [known]),
           (f"Who is the mayor of {town}?", [mayor])]
    return {"kind": "town", "context": text, "qas": qas}


def _company(n: NameMaker, r: random.Random) -> dict[str, Any]:
    (company, product), founder, ceo, town = n.company(), n.person(), n.person(), n.town()
    year, staff = str(r.randint(1950, 2020)), str(r.randint(12, 950))
    text = (f"{company} was founded in {year} by {founder} in {town}. The company makes {product} and "
            f"employs {staff} people. Its chief executive is {ceo}.")
    qas = [(f"Who founded {company}?", [founder]), (f"In what year was {company} founded?", [year]),
           (f"Where was {company} founded?", [town]), (f"What does {company} make?", [product]),
           (f"How many people does {company} employ?", [staff]),
           (f"Who is the chief executive of {company}?", [ceo])]
    return {"kind": "company", "context": text, "qas": qas}


_KINDS = {"person": _person, "town": _town, "company": _company}


def generate_passages(num_passages: int, seed: int = 0) -> list[dict[str, Any]]:
    """``num_passages`` passages, cycling through person/town/company, each with all its questions.

    >>> p = generate_passages(3, seed=1)
    >>> [x["kind"] for x in p]
    ['person', 'town', 'company']
    >>> all(a in x["context"] for x in p for _, golds in x["qas"] for a in golds[:1])
    True
    """
    rng = random.Random(seed)
    names = NameMaker(rng)
    kinds = list(_KINDS)
    return [_KINDS[kinds[i % len(kinds)]](names, rng) for i in range(num_passages)]


def passage_rows(num_passages: int, questions_per_passage: int, seed: int = 0) -> list[dict[str, Any]]:
    """Flat QA rows (``id``, ``passage_id``, ``context``, ``question``, ``answers``), with
    ``questions_per_passage`` questions drawn at random (seeded) from each passage.

    >>> rows = passage_rows(2, 3, seed=0)
    >>> len(rows), rows[0]["passage_id"], rows[3]["passage_id"]
    (6, 'p0', 'p1')
    """
    if questions_per_passage < 1:
        raise ValueError("questions_per_passage must be at least 1")
    rng = random.Random(seed + 1)
    rows = []
    for i, passage in enumerate(generate_passages(num_passages, seed)):
        qas = rng.sample(passage["qas"], min(questions_per_passage, len(passage["qas"])))
        for j, (question, answers) in enumerate(qas):
            rows.append({"id": f"p{i}-q{j}", "passage_id": f"p{i}", "context": passage["context"],
                         "question": question, "answers": list(answers)})
    return rows
