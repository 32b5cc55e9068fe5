"""What the chapters' fork server does once, before any chapter forks from it (see ``execute``).

Every chapter runs in a new fork of that server, so anything done here is done once per build instead of once
per chapter: importing the package and what a chapter's run needs, and compiling the JSON Schema validators that
reading a notebook and drawing a chart use. Nothing here may start a thread (a fork keeps only its caller's).
"""

import altair as alt
import ipykernel.ipkernel  # noqa: F401  (its language_info is recorded in every executed notebook)
import nbformat
import pandas as pd
from IPython.core import interactiveshell  # noqa: F401

from livingreview.publishing import chapter, figures  # noqa: F401

# reading a chapter validates it against its nbformat schema, compiled on first use
nbformat.validate(nbformat.v4.new_notebook())
# altair validates every chart against the Vega-Lite schema, whose validator is also made on first use
alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").to_dict()
