"""Embeddings: 3-D PCA / t-SNE maps of test sentences under each encoder, coloured by label."""
import streamlit as st

from mbti_core.study_figures import embedding_scatter
from mbti_core.study_support import ENCODER_LABELS, METHOD_LABELS, TASK_LABELS, embedding_options, embedding_points, load_report

st.title(":material/scatter_plot: 임베딩 지도 · Embedding maps")
st.caption("테스트 문장의 임베딩을 3차원으로 줄여 라벨별로 색칠했어요. 같은 색끼리 모이면 그 정보가 임베딩에 담겨 있다는 뜻이에요. "
           "/ Test sentences' embeddings reduced to 3-D and coloured by label: where colours separate, the encoder "
           "carries that information.")
loaded = load_report("embeddings.json")
if loaded.problem:
    st.info(loaded.problem)
else:
    report = loaded.data
    encoders, tasks = embedding_options(report)
    if not encoders or not tasks:
        st.info("지도에 표시할 인코더가 없어요. / The report holds no maps; re-run `python -m mbti_core embeddings`.")
    else:
        left, middle, right = st.columns(3)
        encoder = left.selectbox("인코더 · Encoder", encoders, key="emb_encoder",
                                 format_func=lambda e: ENCODER_LABELS.get(e, e))
        task = middle.selectbox("색 · Colour by", tasks, key="emb_task", format_func=lambda t: TASK_LABELS.get(t, t))
        method = right.segmented_control("방법 · Method", ["pca", "tsne"], default="pca", required=True,
                                         key="emb_method", format_func=lambda m: METHOD_LABELS[m])
        points = embedding_points(report, encoder, task, method)
        st.plotly_chart(embedding_scatter(points), key="embedding_map", config={"displaylogo": False})
        caption = f"{len(points['xyz'])} points · pooling: {report.get('pooling', 'mean')} of the last layer"
        if points["variance"]:
            caption += f" · PCA explained variance {sum(points['variance']):.1%}"
        st.caption(caption)
        if report.get("missing"):
            st.caption("없는 인코더 · Not mapped: " + "; ".join(f"{k} ({v})" for k, v in report["missing"].items()))
