"""The pages of the MBTI-ko demo, run by app.py (an st.App) or directly with `streamlit run navigation.py`."""
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # AppTest and `streamlit run` from another folder
    sys.path.insert(0, str(ROOT))

from mbti_core.app_support import MODES, checkpoint_label, model_source  # noqa: E402
from app_pages.common import start_warm_up  # noqa: E402

st.set_page_config(page_title="MBTI-ko · 한국어 MBTI 문체 분석", page_icon=":material/psychology:", layout="wide")

# The default page is served at /; its own pathname ("home") is only reserved, not served. /predict, the name a
# student would type, is a hidden page that switches to it (otherwise: "Page not found"). The pages live in
# app_pages/, not pages/: Streamlit would also serve a pages/ folder by itself, without this frame.
PREDICT = st.Page("app_pages/predict.py", title="유형 예측 · Predict", icon=":material/chat:", url_path="home", default=True)


def open_predict() -> None:
    st.switch_page(PREDICT)


pages = [
    PREDICT,
    st.Page("app_pages/fill_mask.py", title="빈칸 채우기 · Fill-mask", icon=":material/extension:", url_path="fill-mask"),
    st.Page("app_pages/batch.py", title="파일 분석 · Batch", icon=":material/table:", url_path="batch"),
    st.Page("app_pages/results.py", title="결과 · Results", icon=":material/bar_chart:", url_path="results"),
    st.Page("app_pages/sentiment.py", title="감성 · Sentiment", icon=":material/movie:", url_path="sentiment"),
    st.Page("app_pages/embeddings.py", title="임베딩 · Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
    st.Page("app_pages/probing.py", title="층별 탐침 · Probing", icon=":material/layers:", url_path="probing"),
    st.Page("app_pages/about.py", title="소개 · About", icon=":material/info:", url_path="about"),
    st.Page(open_predict, title="유형 예측 · Predict", url_path="predict", visibility="hidden"),
]
# At phone width the type and its four bars fit the first screen above the pinned chat input.
PHONE_CSS = """<style>
@media (max-width: 640px) {
  h1 { font-size: 1.9rem !important; }
  .mbti-type { font-size: 3rem !important; }
  .mbti-axis { margin: .1rem 0 !important; }
  .mbti-axis > div { height: 1.05rem !important; }
  [data-testid="stChatMessage"] { padding: .35rem .5rem !important; }
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem !important; }
}
</style>"""
st.html(PHONE_CSS)
page = st.navigation(pages)
start_warm_up()  # models load in the background while the page renders
st.sidebar.caption("Checkpoints: " + ", ".join(f"`{checkpoint_label(model_source(mode))}`" for mode in MODES))
page.run()
