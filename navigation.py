"""The pages of the MBTI-ko demo, run by app.py (an st.App) or directly with `streamlit run navigation.py`."""
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # AppTest and `streamlit run` from another folder
    sys.path.insert(0, str(ROOT))

from mbti_core.app_support import MODES, checkpoint_label, model_source  # noqa: E402
from pages.common import start_warm_up  # noqa: E402

st.set_page_config(page_title="MBTI-ko · 한국어 MBTI 문체 분석", page_icon=":material/psychology:", layout="wide")

pages = [
    st.Page("pages/predict.py", title="유형 예측 · Predict", icon=":material/chat:", url_path="predict", default=True),
    st.Page("pages/fill_mask.py", title="빈칸 채우기 · Fill-mask", icon=":material/extension:", url_path="fill-mask"),
    st.Page("pages/batch.py", title="파일 분석 · Batch", icon=":material/table:", url_path="batch"),
    st.Page("pages/results.py", title="결과 · Results", icon=":material/bar_chart:", url_path="results"),
    st.Page("pages/sentiment.py", title="감성 · Sentiment", icon=":material/movie:", url_path="sentiment"),
    st.Page("pages/embeddings.py", title="임베딩 · Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
    st.Page("pages/probing.py", title="층별 탐침 · Probing", icon=":material/layers:", url_path="probing"),
    st.Page("pages/about.py", title="소개 · About", icon=":material/info:", url_path="about"),
]
page = st.navigation(pages)
start_warm_up()  # models load in the background while the page renders
st.sidebar.caption("Checkpoints: " + ", ".join(f"`{checkpoint_label(model_source(mode))}`" for mode in MODES))
page.run()
