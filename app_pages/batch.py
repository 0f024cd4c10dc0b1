"""Batch: upload a CSV / JSONL / text file, pick the text column, score every row, download the result."""
import pandas as pd
import streamlit as st

from mbti_core.app_support import MODE_LABELS
from mbti_core.batch import MAX_FILE_MB, MAX_ROWS, PROB_COLUMNS, BatchInputError, read_table, score_table
from app_pages.common import get_predictor


st.title(":material/table: 파일 일괄 분석 · Batch scoring")
st.caption(f"CSV·TSV·JSONL·TXT 파일의 메시지마다 유형과 네 축 확률을 구해요 (최대 {MAX_FILE_MB} MB, {MAX_ROWS:,}행, UTF-8 또는 "
           f"CP949). 카카오톡 대화 내보내기(.txt)도 돼요: 화자별로 모아서도 예측해요. 결과 파일에는 원래 열(id, 화자 …)이 그대로 "
           f"남아요. / Scores every message of a CSV, TSV, JSONL or text file (at most {MAX_FILE_MB} MB and "
           f"{MAX_ROWS:,} rows; UTF-8 or CP949), including a KakaoTalk export (.txt), pooled per speaker too. The "
           "download keeps the file's own columns (id, speaker, ...).")
# max_upload_size: the browser refuses a bigger file before sending it (also server.maxUploadSize, .streamlit/config.toml)
upload = st.file_uploader("파일 · File", type=["csv", "tsv", "jsonl", "ndjson", "txt"], key="batch_file",
                          max_upload_size=MAX_FILE_MB)
if upload is None:
    st.info("파일을 올려 주세요: 한 열에 메시지가 있는 표, 또는 한 줄에 한 메시지인 텍스트. / Upload a table with a "
            "column of messages, or a text file with one message per line.")
    st.stop()
try:
    table = read_table(upload.getvalue(), upload.name)
except BatchInputError as error:
    st.error(str(error))
    st.stop()

left, right = st.columns([2, 1])
with left:
    guess = table.guess_text_column()
    column = st.selectbox("메시지 열 · Text column", table.columns, index=table.columns.index(guess) if guess else 0,
                          key="batch_column")
with right:
    mode = st.segmented_control("모델 · Model", ["mft", "ft"], default="mft", required=True, key="batch_model",
                                format_func=MODE_LABELS.get)
st.caption(f"{table.n_rows:,}행 · {table.n_rows:,} rows, {table.format.upper()}, {table.encoding}")
st.dataframe(table.frame.head(5), key="batch_preview")

run_key = (upload.file_id, column, mode)
if st.button("분석 시작 · Score", type="primary", key="batch_run"):
    predictor = get_predictor(mode)
    if predictor is not None:
        bar = st.progress(0.0, text="분석 중… / Scoring…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=f"{done:,} / {total:,}")

        st.session_state["batch_result"] = (run_key, score_table(predictor, table, column, progress=progress))

stored = st.session_state.get("batch_result")
if stored and stored[0] == run_key:  # a result of this file, column and model
    result = stored[1]
    st.success(f"{len(result.scored):,} / {result.n_rows:,}행 분석 완료 ({result.seconds:.1f} s). / "
               f"Scored {len(result.scored):,} of {result.n_rows:,} rows in {result.seconds:.1f} s.")
    st.download_button("결과 CSV 받기 · Download CSV", result.to_csv_bytes(), key="batch_download",
                       file_name=f"{upload.name.rsplit('.', 1)[0]}.mbti.csv", mime="text/csv", on_click="ignore")
    if len(result.scored):
        counts = result.scored["type"].value_counts()
        st.bar_chart(counts, horizontal=True)
    table_rows = result.table()
    scored_rows = table_rows[table_rows["error"] == ""].drop(columns=["error"])  # with the file's other columns
    st.dataframe(scored_rows.head(1000).style.format({c: "{:.1%}" for c in PROB_COLUMNS}), hide_index=True,
                 key="batch_scored")
    speaker = table.guess_speaker_column()
    if speaker is not None and speaker != column and len(result.scored):
        pooled = result.by_speaker(speaker, get_predictor(mode))
        st.subheader(f"화자별 · Per speaker ({speaker})")
        st.caption("한 사람의 메시지를 모두 모아 하나로 예측해요 (축별 log-odds 평균, 유형 예측 페이지의 대화 모드와 같아요). "
                   "메시지가 많을수록 근거가 쌓여요. / Each speaker's messages pooled into one prediction (mean of the "
                   "axis log-odds, as the Predict page's chat-log mode): more messages, more evidence.")
        st.dataframe(pooled.style.format({c: "{:.1%}" for c in PROB_COLUMNS}), hide_index=True, key="batch_speakers")
        st.download_button("화자별 CSV 받기 · Download per-speaker CSV", pooled.to_csv(index=False).encode("utf-8-sig"),
                           key="batch_download_speakers", file_name=f"{upload.name.rsplit('.', 1)[0]}.speakers.csv",
                           mime="text/csv", on_click="ignore")
    if len(result.failed):
        st.warning(f"{len(result.failed):,}행은 분석하지 못했어요 (다운로드 파일의 error 열에도 있어요). / "
                   f"{len(result.failed):,} rows could not be scored (also in the download's error column).")
        st.dataframe(pd.DataFrame(result.failed), hide_index=True, key="batch_failed")
