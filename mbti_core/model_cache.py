"""One process-wide cache of loaded models, shared by the Streamlit pages and the Gradio app, and the one warm-up.

``predictor(source)`` and ``sentiment_predictor(source)`` load a checkpoint once per process (ONNX when the folder
carries an export, else torch; ``onnx_predictor``); callers that ask while it loads wait for the same load. A
failed load is not kept: the caller gets the error (the pages show it), and the next call tries again, so a
folder fixed while the server runs is picked up.

``start_warm_up(sources)`` loads models in a background thread and runs one prediction (and one fill-mask) on
each, which pays their one-off costs before the first user does. The Streamlit app calls it when the server
starts (``app.py``) and again when a page first renders (``navigation.py``); the second call finds the work
started and returns the same thread. Torch-free: nothing heavy is imported until a model is loaded.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

WARM_UP_FILL = "오늘은 [MASK] 하고 싶어"

_lock = threading.Lock()
_loads: dict[tuple[str, str], Future] = {}
_warm_up: threading.Thread | None = None


def _load(kind: str, source: str):
    from mbti_core import onnx_predictor

    if kind == "sentiment":
        return onnx_predictor.load_sentiment_predictor(source, device="cpu")
    return onnx_predictor.load_predictor(source, device="cpu")


def _cached(kind: str, source: str):
    key = (kind, str(source))
    with _lock:
        future = _loads.get(key)
        owner = future is None
        if owner:
            future = _loads[key] = Future()
    if owner:
        try:
            future.set_result(_load(kind, str(source)))
        except BaseException as error:  # handed to every waiting caller, then forgotten
            future.set_exception(error)
            with _lock:
                _loads.pop(key, None)
    return future.result()


def predictor(source: str):
    """The MBTI predictor of a checkpoint folder (or Hub id), loaded once per process."""
    return _cached("mbti", source)


def sentiment_predictor(source: str):
    """The sentiment predictor of a checkpoint folder, loaded once per process."""
    return _cached("sentiment", source)


def loaded(source: str, kind: str = "mbti") -> bool:
    """Whether the model is loaded already (a page may then skip its loading notice)."""
    future = _loads.get((kind, str(source)))
    return future is not None and future.done() and future.exception() is None


def clear() -> None:
    """Forget every loaded model (tests)."""
    global _warm_up
    with _lock:
        _loads.clear()
        _warm_up = None


def warm_up(sources: list[str]) -> None:
    """Load each MBTI model and run one prediction (and one fill-mask where there is a head); a model that fails to
    load is left for the page that asks for it to report."""
    from mbti_core.app_support import DEFAULT_FILL_TYPES, EXAMPLE_MESSAGES

    for source in sources:
        try:
            model = predictor(source)
            model.predict([EXAMPLE_MESSAGES[0]])
            if model.has_fill_mask:
                model.fill_mask(WARM_UP_FILL, list(DEFAULT_FILL_TYPES), 5)
        except Exception:  # noqa: BLE001 - shown by the page that asks for this model
            continue


def start_warm_up(sources: list[str]) -> threading.Thread:
    """``warm_up`` in a background thread, once per process (later calls return the same thread)."""
    global _warm_up
    with _lock:
        if _warm_up is None:
            _warm_up = threading.Thread(target=warm_up, args=(list(sources),), name="mbti-warm-up", daemon=True)
            _warm_up.start()
        return _warm_up
