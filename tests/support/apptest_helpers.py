"""Reading AppTest elements, shared by the page tests."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def chart(at: AppTest, key: str) -> dict:
    """The plotly figure spec of the chart with this key."""
    charts = {element.key: element for element in at.get("plotly_chart")}
    assert key in charts, f"no chart {key!r}; charts: {sorted(k for k in charts if k)}"
    return json.loads(charts[key].proto.spec)


def texts(elements) -> list[str]:
    return [element.value for element in elements]
