"""Nicknames and diminutives, normalised, mapped to the full given names they stand for.

A country adds its own through :class:`~baobab.identity.matching.model.MatchModel`'s
``nicknames``; this table covers the cultures of the synthetic population and common English,
French, Spanish, Portuguese, Russian, Greek, Arabic and Swahili usage. Keys and values are already
in :func:`~baobab.identity.matching.names.normalise_name` form.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["NICKNAMES"]

_GROUPS: dict[str, tuple[str, ...]] = {
    # English
    "william": ("bill", "billy", "will", "willy", "liam"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "richard": ("dick", "rick", "ricky", "rich", "richie"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny", "jon"),
    "michael": ("mike", "mikey", "mick"),
    "thomas": ("tom", "tommy"),
    "joseph": ("joe", "joey"),
    "anthony": ("tony",),
    "charles": ("charlie", "chuck"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "christopher": ("chris", "kit"),
    "benjamin": ("ben", "benny"),
    "samuel": ("sam", "sammy"),
    "matthew": ("matt",),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "bess", "libby", "lizzy"),
    "margaret": ("maggie", "meg", "peggy", "margie"),
    "katherine": ("kate", "katie", "kathy", "kay"),
    "catherine": ("cathy", "cath", "kate", "katie"),
    "jennifer": ("jen", "jenny"),
    "susan": ("sue", "susie"),
    "patricia": ("pat", "patty", "trish"),
    "rebecca": ("becky", "becca"),
    "deborah": ("debbie", "deb"),
    "victoria": ("vicky", "tori"),
    "abigail": ("abby",),
    "alexander": ("alex", "sandy", "sasha", "sacha", "alek"),
    "alexandra": ("alex", "sandra", "sasha", "sacha"),
    # French
    "jean baptiste": ("jb",),
    "dominique": ("dom",),
    "francois": ("franck",),
    "isabelle": ("isa", "babette"),
    "marguerite": ("margot", "maggy"),
    # Spanish and Portuguese
    "jose": ("pepe", "chepe", "ze"),
    "francisco": ("paco", "pancho", "chico", "quico"),
    "guadalupe": ("lupe", "lupita"),
    "dolores": ("lola", "loli"),
    "concepcion": ("concha", "conchita"),
    "ignacio": ("nacho",),
    "manuel": ("manolo", "manu"),
    "enrique": ("quique",),
    "antonio": ("toni", "tono", "nono"),
    "fernando": ("nando",),
    "rosario": ("charo",),
    "maria": ("mari", "maruja", "masha", "marusya"),
    # Russian and other Slavic
    "aleksandr": ("sasha", "sanya", "shura"),
    "aleksandra": ("sasha", "shura"),
    "dmitriy": ("dima", "mitya"),
    "mikhail": ("misha",),
    "nikolay": ("kolya",),
    "ivan": ("vanya",),
    "pavel": ("pasha",),
    "sergey": ("seryozha", "serezha"),
    "evgeniy": ("zhenya",),
    "evgeniya": ("zhenya",),
    "aleksey": ("alyosha", "lyosha"),
    "vladimir": ("volodya", "vova"),
    "yuriy": ("yura",),
    "anatoliy": ("tolya",),
    "konstantin": ("kostya",),
    "svetlana": ("sveta",),
    "natalya": ("natasha",),
    "ekaterina": ("katya",),
    "tatyana": ("tanya",),
    "olga": ("olya",),
    "irina": ("ira",),
    "elena": ("lena",),
    "anastasiya": ("nastya",),
    "daria": ("dasha",),
    "yelena": ("lena",),
    "lyudmila": ("lyuda", "mila"),
    # Greek
    "georgios": ("giorgos", "yorgos"),
    "konstantinos": ("kostas", "dinos"),
    "nikolaos": ("nikos",),
    "ioannis": ("giannis", "yannis"),
    "dimitrios": ("dimitris", "mitsos"),
    "panagiotis": ("panos", "takis"),
    "vasileios": ("vasilis", "vasos"),
    "athanasios": ("thanasis",),
    "charalampos": ("babis", "charis"),
    "aikaterini": ("katerina", "katia"),
    "eleni": ("lena",),
    "panagiota": ("giota", "yota"),
    "konstantina": ("ntina", "dina"),
    "vasiliki": ("vaso", "kiki"),
    # Arabic (Latin spellings; Arabic script is transliterated before lookup)
    "mohammed": ("hamada", "hamoud", "moha"),
    "abdullah": ("abdou", "abdu"),
    "abdulrahman": ("abdou", "abdo"),
    "fatima": ("fatma", "titi", "fatou"),
    "mustafa": ("moustapha",),
    "ibrahim": ("brahim",),
    "youssef": ("youcef",),
    "khadija": ("khadi",),
    # Swahili and East African usage
    "josephine": ("josie", "fifi"),
    "emmanuel": ("manu",),
    "wanjiru": ("shiru",),
    "nyambura": ("nyam",),
}


def _invert(groups: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for full, short_forms in groups.items():
        for short in short_forms:
            table.setdefault(short, set()).add(full)
    return {short: frozenset(fulls) for short, fulls in table.items()}


NICKNAMES: Mapping[str, frozenset[str]] = _invert(_GROUPS)
