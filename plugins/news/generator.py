"""A seeded generator of news items: structured facts, a headline and reference articles.

Four kinds: football ``match`` results, ``weather`` forecasts, company ``earnings`` and
``election`` results, about invented places, people and companies. Each item has the full
facts with a data-to-text reference brief, and a headline with the subset of facts it states
and a short reference article that uses only those.
"""

from __future__ import annotations

import random
from typing import Any

from plugins.news.names import Names

__all__ = ["NEWS_KINDS", "generate_items", "fact"]

_CLUBS = ("Rovers", "United", "Athletic", "City", "Wanderers", "Rangers", "Albion", "Town")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# condition, lowest and highest daytime high (°C), chance of rain range (%)
_WEATHER = (("sunshine", 14, 31, (0, 15)), ("light showers", 8, 20, (40, 70)), ("heavy rain", 6, 18, (75, 95)),
            ("thick fog", 2, 12, (10, 30)), ("strong winds", 5, 16, (20, 50)), ("snow", -6, 3, (30, 60)))
_QUARTERS = ("first quarter", "second quarter", "third quarter", "fourth quarter")
_PARTIES = ("Green Valley Party", "Harbour Alliance", "Civic Union", "Northern Reform", "People's League")


def fact(name: str, value: Any, kind: str = "") -> dict[str, str]:
    """One fact as the task stores it.

    >>> fact("high", "24°C", "temperature")
    {'name': 'high', 'value': '24°C', 'kind': 'temperature'}
    """
    return {"name": name, "value": str(value), "kind": kind}


def _match(n: Names, r: random.Random) -> dict[str, Any]:
    home, away = f"{n.town()} {r.choice(_CLUBS)}", f"{n.town()} {r.choice(_CLUBS)}"
    hs, as_ = r.randint(0, 4), r.randint(0, 4)
    venue, day, crowd = f"{n.surname()} Park", r.choice(_DAYS), f"{r.randint(2, 45)},{r.randint(1, 9)}00"
    facts = [fact("home team", home), fact("away team", away), fact("home score", hs, "score"),
             fact("away score", as_, "score"), fact("venue", venue), fact("day", day),
             fact("attendance", crowd, "attendance")]
    if hs == as_:
        ref = r.choice((f"{home} and {away} drew {hs}-{as_} at {venue} on {day}, watched by {crowd} fans.",
                        f"{home} were held to a {hs}-{as_} draw by {away} at {venue} on {day} "
                        f"in front of {crowd} fans."))
        head = f"{home} and {away} draw {hs}-{as_}"
        head_ref = f"{home} and {away} drew {hs}-{as_}. Neither side could find a winner."
    else:
        (w, ws), (l, ls) = sorted(((home, hs), (away, as_)), key=lambda t: -t[1])
        ref = r.choice((f"{w} beat {l} {ws}-{ls} at {venue} on {day}, in front of {crowd} fans.",
                        f"{w} claimed a {ws}-{ls} win over {l} at {venue} on {day}. The match drew {crowd} fans."))
        head, head_ref = f"{w} beat {l} {ws}-{ls}", f"{w} beat {l} {ws}-{ls}. It was a deserved win for {w}."
    return {"facts": facts, "reference": ref, "headline": head, "headline_facts": facts[:4],
            "headline_reference": head_ref}


def _weather(n: Names, r: random.Random) -> dict[str, Any]:
    city, day = n.town(), r.choice(_DAYS)
    condition, lo_min, hi_max, (rain_lo, rain_hi) = r.choice(_WEATHER)
    high = r.randint(lo_min + 4, hi_max)
    low, wind = r.randint(lo_min - 4, high - 3), f"{r.randint(2, 12) * 5} km/h"
    rain = f"{r.randint(rain_lo // 5, rain_hi // 5) * 5}%"
    facts = [fact("city", city), fact("day", day), fact("conditions", condition),
             fact("high", f"{high}°C", "temperature"), fact("low", f"{low}°C", "temperature"),
             fact("wind", wind, "speed"), fact("chance of rain", rain, "percent")]
    ref = r.choice((f"{city} can expect {condition} on {day}, with a high of {high}°C and a low of {low}°C. "
                    f"Winds will reach {wind} and the chance of rain is {rain}.",
                    f"Forecasters expect {condition} in {city} on {day}. Temperatures will range from {low}°C to "
                    f"{high}°C, with {wind} winds and a {rain} chance of rain."))
    head = f"{condition.capitalize()} and highs of {high}°C for {city} on {day}"
    head_ref = (f"{city} will see {condition} on {day}, with temperatures reaching {high}°C. "
                "Residents should plan ahead.")
    return {"facts": facts, "reference": ref, "headline": head, "headline_facts": [facts[i] for i in (0, 1, 2, 3)],
            "headline_reference": head_ref}


def _earnings(n: Names, r: random.Random) -> dict[str, Any]:
    company, ceo, quarter = n.company(), n.person(), r.choice(_QUARTERS)
    revenue = round(r.uniform(5, 400), 1)
    profit, pct = round(revenue * r.uniform(0.03, 0.25), 1), r.randint(1, 30)
    up = r.random() < 0.65
    change = f"{'up' if up else 'down'} {pct}%"
    facts = [fact("company", company), fact("period", quarter), fact("revenue", f"${revenue} million", "money"),
             fact("revenue change", change, "percent"), fact("net profit", f"${profit} million", "money"),
             fact("chief executive", ceo)]
    ref = r.choice((f"{company} reported revenue of ${revenue} million for the {quarter}, {change} from a year "
                    f"earlier. Net profit was ${profit} million, chief executive {ceo} said.",
                    f"Revenue at {company} {'rose' if up else 'fell'} {pct}% to ${revenue} million in the {quarter}. "
                    f"The company, led by {ceo}, made a net profit of ${profit} million."))
    head = f"{company} revenue {change} to ${revenue} million"
    head_ref = (f"{company} said its revenue {'rose' if up else 'fell'} {pct}% to ${revenue} million. "
                f"Investors will watch the next results closely.")
    return {"facts": facts, "reference": ref, "headline": head, "headline_facts": [facts[i] for i in (0, 2, 3)],
            "headline_reference": head_ref}


def _election(n: Names, r: random.Random) -> dict[str, Any]:
    place, winner, runner_up, party = n.town(), n.person(), n.person(), r.choice(_PARTIES)
    share, turnout = round(r.uniform(40, 75), 1), r.randint(28, 82)
    facts = [fact("place", place), fact("winner", winner), fact("party", party),
             fact("winner's vote share", f"{share}%", "percent"), fact("runner-up", runner_up),
             fact("turnout", f"{turnout}%", "percent")]
    ref = r.choice((f"{winner} of the {party} won the {place} mayoral election with {share}% of the vote, ahead of "
                    f"{runner_up}. Turnout was {turnout}%.",
                    f"{place} has a new mayor: {winner} of the {party} took {share}% of the vote to beat {runner_up}, "
                    f"on a turnout of {turnout}%."))
    head = f"{winner} wins {place} mayoral race with {share}%"
    head_ref = (f"{winner} has won the mayoral election in {place}, taking {share}% of the vote. "
                "The count ended overnight.")
    return {"facts": facts, "reference": ref, "headline": head, "headline_facts": [facts[i] for i in (0, 1, 3)],
            "headline_reference": head_ref}


NEWS_KINDS = {"match": _match, "weather": _weather, "earnings": _earnings, "election": _election}
"""Generators by kind."""


def generate_items(num_items: int, kinds: list[str] | tuple[str, ...] = tuple(NEWS_KINDS),
                   seed: int = 0) -> list[dict[str, Any]]:
    """``num_items`` news items cycling through ``kinds``; each has ``id``, ``kind``, ``facts``,
    ``reference``, ``headline``, ``headline_facts`` and ``headline_reference``.

    >>> items = generate_items(4, seed=3)
    >>> [i["kind"] for i in items]
    ['match', 'weather', 'earnings', 'election']
    >>> items[1]["facts"][3]["kind"]
    'temperature'
    """
    unknown = [k for k in kinds if k not in NEWS_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown news kind {unknown[0] if unknown else None!r}; choose from {', '.join(NEWS_KINDS)}")
    rng = random.Random(seed)
    names = Names(rng)
    items = []
    for i in range(num_items):
        kind = kinds[i % len(kinds)]
        items.append({"id": f"{kind}-{i}", "kind": kind, **NEWS_KINDS[kind](names, rng)})
    return items
