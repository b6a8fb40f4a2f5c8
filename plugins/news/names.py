"""Invented names for generated news: towns, people and companies (seeded, unique per run)."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Names"]

_TOWN_A = ("Ash", "Brack", "Cal", "Dray", "Eld", "Fox", "Grim", "Hen", "Ket", "Lyn", "Marl", "Nor", "Orm",
           "Pell", "Quar", "Rud", "Stow", "Tarn", "Wil", "Yel")
_TOWN_B = ("", "en", "ing", "ers")
_TOWN_C = ("bridge", "combe", "ley", "by", "thorpe", "haven", "field", "minster", "well", "cross")
_GIVEN = ("Ada", "Bram", "Cleo", "Dane", "Esme", "Flint", "Greer", "Hale", "Ines", "Jory", "Kit", "Lark",
          "Milo", "Nell", "Orla", "Pax", "Rhea", "Silas", "Tova", "Wren")
_FAMILY_A = ("Ab", "Bel", "Cor", "Del", "Fen", "Gor", "Hol", "Jes", "Kel", "Lom", "Mor", "Pen", "Rav", "Sul",
             "Tib", "Var")
_FAMILY_B = ("ton", "worth", "ridge", "stead", "cott", "hurst", "mere", "wick")
_FIRM_A = ("Vel", "Tor", "Zan", "Quil", "Bry", "Nov", "Kal", "Dex", "Ost", "Lum", "Pry", "Sor")
_FIRM_B = ("ara", "ex", "ion", "ova", "ium", "ent", "ix", "os")
_FIRM_C = ("Foods", "Motors", "Textiles", "Software", "Shipping", "Ceramics", "Robotics", "Optics", "Toys")


class Names:
    """Makes unique invented names from syllables with a seeded RNG.

    >>> n = Names(random.Random(0))
    >>> len({n.town() for _ in range(50)})
    50
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        for _ in range(2000):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise ValueError(f"ran out of unique invented names after {len(self.used)}; generate fewer items")

    def town(self) -> str:
        """A town, e.g. 'Ketenbridge'."""
        c = self.rng.choice
        return self._unique(lambda: c(_TOWN_A) + c(_TOWN_B) + c(_TOWN_C))

    def person(self) -> str:
        """A person, e.g. 'Orla Kelworth'."""
        c = self.rng.choice
        return self._unique(lambda: f"{c(_GIVEN)} {c(_FAMILY_A)}{c(_FAMILY_B)}")

    def surname(self) -> str:
        """A family name (not reserved), e.g. for a stadium."""
        c = self.rng.choice
        return c(_FAMILY_A) + c(_FAMILY_B)

    def company(self) -> str:
        """A company, e.g. 'Velara Optics'."""
        c = self.rng.choice
        return self._unique(lambda: f"{c(_FIRM_A)}{c(_FIRM_B)} {c(_FIRM_C)}")
