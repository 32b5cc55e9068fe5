"""How a value is written wherever readers see it: a number, what one row of a table is called, a citation's anchor."""

from __future__ import annotations

import pandas as pd


def plain_number(value: object, digits: int | None = None) -> object:
    """A whole float as an integer ("60", not "60.0"), any other float rounded to ``digits`` decimals if given
    (values a chart computed, such as means); anything else as it is."""
    import numbers

    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)) and not pd.isna(value):
        number = float(value)
        if number.is_integer():
            return int(number)
        return round(number, digits) if digits is not None else value
    return value


def row_noun(title: str) -> str:
    """'Vaccine trial' for a table titled 'Vaccine trials': what one of its rows is called."""
    return title[:-1] if title.endswith("s") and not title.endswith("ss") else title


CITE_ID = "cite-{key}"


def plural(title: str) -> str:
    """A heading as the name of its values: 'Study class' -> 'study classes'; an acronym keeps its capitals
    ('DNA source' -> 'DNA sources')."""
    words = title if title[1:2].isupper() else title[:1].lower() + title[1:]
    return words + ("es" if words.endswith(("s", "x", "ch", "sh")) else "s")


def cite_anchor(key: str) -> str:
    """The id of ``key``'s entry on the bibliography page (as docutils makes ids from ``CITE_ID``)."""
    from docutils.nodes import make_id

    return make_id(CITE_ID.format(key=key))
