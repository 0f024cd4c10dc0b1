"""About: the method, the data and their sources, the caveats — in Korean and English."""
import streamlit as st

st.title(":material/info: 소개 · About")
korean, english = st.tabs(["한국어", "English"])

with korean:
    st.markdown("""
### 무엇을 하나요
채팅 메시지 한 줄(또는 한 사람의 대화 여러 줄)로 MBTI 네 축(E/I, S/N, T/F, J/P)을 예측하고,
유형에 따라 언어 모델이 고르는 단어가 어떻게 달라지는지 보여 줍니다.

### 방법 — MFT (MLM Fine Tuning)
학생 연구에서 제안한 방법을 재현했습니다. 한국어 ELECTRA 계열 인코더를 세 단계로 학습합니다.
1. **유형 설명 문장 분류**: 16유형 설명 문장으로 분류 헤드(hidden→512→256→128→4, 축마다 시그모이드)를 학습.
2. **MBTI 조건부 마스크 언어 모델**: 유형 특징 단어 하나를 [MASK]로 가린 문장과 작성자 유형의 128차원 임베딩으로 가린 단어를 맞힘 (빈칸 채우기 페이지).
3. **실제 커뮤니티 글 분류**: 네이버 카페 글로 네 축을 학습.

**FT**는 3단계만 학습한 비교 모델입니다. 연구는 MFT 81.64% vs FT 81.30%를 보고했고, 우리는 작성자가 겹치지 않는 분할에서 정직하게 다시 잽니다 (결과 페이지).

### 데이터와 출처
| 데이터 | 용도 | 출처 | 라이선스 |
| --- | --- | --- | --- |
| `mbti_cafe/` 댓글·게시글 | 3단계, 평가 | 네이버 카페 "MBTI 심리", [TEAM-UROP/Crawling](https://github.com/TEAM-UROP/Crawling) 수집 | 명시 없음: 연구·시연용, 출처 표기 |
| `seed_study/` (연구 원본 데이터) | 1단계 (유형 설명 번역문), 2단계 (GPT-4o 페르소나 문장), 빈칸 채우기의 유형 효과 측정 | [noadforeside/FIVEGUYS](https://github.com/noadforeside/FIVEGUYS) | 명시 없음: 연구·시연용, 출처 표기 |
| `mbti_types_ko.json` | 1단계 (선택) | [scott8736/mbtitest.co.kr-](https://github.com/scott8736/mbtitest.co.kr-) | 명시 없음 |
| `nsmc/` | 감성 확인, 사전학습 | [e9t/nsmc](https://github.com/e9t/nsmc) | CC0 |
| `corpus/` | 사전학습 | kocohub/korean-hate-speech (CC BY-SA 4.0), songys/Chatbot_data (MIT), kakaobrain/KorNLUDatasets·KLUE (CC BY-SA 4.0), lovit/petitions_archive | 각 출처 |

### 주의할 점
- **닉네임 라벨**: 카페에는 정답 칸이 없어 닉네임에 적힌 유형(예: `긍정Enfj`, `엔프제다옹`)을 라벨로 씁니다. 스스로 밝힌 유형이라 틀릴 수 있고 잡음이 많습니다.
- **유형 언급 가리기**: 글의 약 30%가 유형을 직접 언급합니다("저 INFP인데"). 정답을 베끼지 않도록 학습·평가·이 앱 모두 유형 언급을 `[TYPE]`으로 바꿔 판단합니다.
- **빈칸 채우기의 유형 차이**: LLM이 각 유형인 척 쓴 문장에서 배운 것이라 유형에 대한 고정관념이에요. 실제 카페 글쓴이들의 단어 선택은 유형에 따라 훨씬 덜 달라요 (빈칸 채우기 페이지의 측정값).
- **MBTI의 한계**: MBTI는 신뢰도·타당도 논란이 있는 자기보고 검사입니다. 한 줄의 문체로 성격을 알 수는 없어요. 결과는 재미와 수업용이며, 사람을 판단하거나 채용·평가에 쓰면 안 됩니다.
- 작성자가 겹치지 않게 나눈 시험 데이터에서도 정확도는 우연보다 조금 나은 수준입니다 — 결과 페이지의 기준선(TF-IDF)과 비교해 보세요.
""")

with english:
    st.markdown("""
### What it does
Predicts the four MBTI axes (E/I, S/N, T/F, J/P) from one Korean chat message (or several messages of one person),
and shows how a language model's word choices change with the type.

### Method — MFT (MLM Fine Tuning)
A reproduction of a student study. A Korean ELECTRA-style encoder is trained in three phases:
1. **Type descriptions**: classify sentences of the 16 type descriptions (head hidden→512→256→128→4, one sigmoid per axis).
2. **MBTI-conditioned masked LM**: a sentence with one masked type-characteristic word plus a learned 128-d embedding of the writer's type predicts the word (the Fill-mask page).
3. **Community posts**: classify real posts of a Naver cafe on the four axes.

**FT** is phase 3 alone. The study reports MFT 81.64% vs FT 81.30%; we measure both again, honestly, on a writer-disjoint split (Results page).

### Data and sources
| source | used for | origin | license |
| --- | --- | --- | --- |
| `mbti_cafe/` comments and posts | phase 3, evaluation | Naver cafe "MBTI 심리", crawled by [TEAM-UROP/Crawling](https://github.com/TEAM-UROP/Crawling) | none stated: research/demo use, credit the source |
| `seed_study/` (the study's own data) | phase 1 (translated type descriptions), phase 2 (GPT-4o persona sentences), the Fill-mask type-effect measurement | [noadforeside/FIVEGUYS](https://github.com/noadforeside/FIVEGUYS) | none stated: research/demo use, credit the source |
| `mbti_types_ko.json` | phase 1 (optional) | [scott8736/mbtitest.co.kr-](https://github.com/scott8736/mbtitest.co.kr-) | none stated |
| `nsmc/` | sentiment check, pretraining | [e9t/nsmc](https://github.com/e9t/nsmc) | CC0 |
| `corpus/` | pretraining | kocohub/korean-hate-speech (CC BY-SA 4.0), songys/Chatbot_data (MIT), kakaobrain/KorNLUDatasets and KLUE (CC BY-SA 4.0), lovit/petitions_archive | as listed |

### Caveats
- **Nickname labels**: the cafe has no label column; a writer's type is read from the nickname (`긍정Enfj`, `엔프제다옹`). Labels are self-reported and noisy.
- **Masking of type mentions**: about 30% of texts name a type ("저 INFP인데"). Training, evaluation and this app replace mentions by `[TYPE]`, so the model cannot copy the answer.
- **Fill-mask differences by type** were learned from sentences an LLM wrote while pretending to be each type: they are stereotypes. Real cafe writers' word choice differs far less by type (measured on the Fill-mask page).
- **MBTI's limits**: MBTI is a self-report instrument with contested reliability and validity, and one message's style says little about a person. Use the results for fun and teaching — never to judge, hire or grade people.
- Even on a writer-disjoint test split, accuracy is only somewhat above chance — compare with the TF-IDF baseline on the Results page.
""")
