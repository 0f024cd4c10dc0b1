"""The MBTI-ko demo: `streamlit run app.py`. Pages: navigation.py and app_pages/ (all logic in mbti_core).

An `st.App` so that model loading starts when the server starts, before any browser connects: the page modules
are imported, then both models, in a background thread (through onnxruntime when the checkpoints carry an
ONNX export, ~0.3 s; else torch + transformers, ~4 s on a small CPU), into `mbti_core.model_cache`, where the
pages' first requests for a model find them.
"""
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent


def _preload() -> None:
    import pandas  # noqa: F401  what the first page imports comes first: it must not wait behind the models
    import app_pages.common

    app_pages.common.start_warm_up()


@asynccontextmanager
async def _lifespan(_app):
    threading.Thread(target=_preload, name="mbti-preload", daemon=True).start()
    yield


app = st.App(str(ROOT / "navigation.py"), lifespan=_lifespan)
