#!/usr/bin/env bash
# The GPU run behind the shipped checkpoints/ and reports/: one H100, about 15 minutes in all.
#
#   MBTI_DATA_DIR=../shared/data bash scripts/gpu_pipeline.sh
#
# FINETUNE_ONLY=1 runs only MFT and FT (seeds side by side, then collected) on the shipped checkpoints/base: the
# MFT-vs-FT comparison on the study's data in one short GPU call (the data directory must travel with the tree,
# e.g. a carried copy of ../shared/data named by MBTI_DATA_DIR).
#
# 1. data caches; the phase-2 masked-sentence files (log-odds, and random for the ablations) on the CPU while
# 2. the encoder pretrains (a time budget in PRETRAIN_ARGS) -> checkpoints/base, reports/pretrain.json;
# 3. then, side by side on the one GPU (each job is small): MFT seeds 0-2 (phases 1-2 on the study's data,
#    seed_study/), FT seeds 0-2, the variants (MFT with the cafe log-odds or random phase 2, phase-3 options)
#    (seed 0 each), the NSMC check of the encoder (50k reviews) and the sentiment model (170k reviews);
# 4. the seeds are collected (best validation seed shipped, mean ± std over seeds) -> checkpoints/{mft,ft},
#    reports/mft_vs_ft.json. Embeddings and probing ran afterwards on a CPU (see README); SCALING_SIZES adds
#    the NSMC scaling sizes (47k steps at the study's batch of 16) to step 3.
#
# The shipped models came from this script in one H100 session, except that the sentiment stage ran on its own
# afterwards (same command). Each stage logs to $RUN/NAME.log and marks $RUN/NAME.done; re-running skips
# finished stages and every training command resumes its own state. $RUN/events: start/done/failed, Unix times.
# The variables shrink it for a CPU smoke run, e.g. RUN=runs/gpu-smoke CKPT=runs/gpu-smoke/checkpoints
# REPORTS=runs/gpu-smoke/reports SEEDS="0 1" PRETRAIN_ARGS="--tiny --run-dir runs/gpu-smoke/pretrain --max-steps 40"
# MASK_ARGS="--max-rows 3000" FINETUNE_ARGS=--tiny NSMC_CHECK_ARGS="--n-train 400 --n-test 200 --epochs 1"
# SENTIMENT_ARGS="--n-train 400 --n-test 200 --epochs 1" SCALING_SIZES="200 400" SCALING_ARGS=--tiny.
set -u
cd "$(dirname "$0")/.."

RUN=${RUN:-runs/gpu}
CKPT=${CKPT:-checkpoints}
REPORTS=${REPORTS:-reports}
PY=${PYTHON:-python3}
SEEDS=${SEEDS:-"0 1 2"}
PRETRAIN_ARGS=${PRETRAIN_ARGS:-"--max-steps 30000 --time-budget-minutes 5.5"}
MASK_ARGS=${MASK_ARGS:-}
FINETUNE_ARGS=${FINETUNE_ARGS:-}
NSMC_CHECK_ARGS=${NSMC_CHECK_ARGS:-}
SENTIMENT_ARGS=${SENTIMENT_ARGS:-"--n-train 170000 --epochs 2"}
SCALING_SIZES=${SCALING_SIZES:-}
SCALING_ARGS=${SCALING_ARGS:-}
FINETUNE_ONLY=${FINETUNE_ONLY:-}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

mkdir -p "$RUN/out" "$RUN/variants" "$REPORTS"
log() { echo "$(date +%s) $*" >> "$RUN/events"; }
stage() {  # stage NAME COMMAND...: run unless done before; output in $RUN/NAME.log
    local name=$1; shift
    [ -f "$RUN/$name.done" ] && return 0
    log "start $name"
    if "$@" > "$RUN/$name.log" 2>&1; then touch "$RUN/$name.done"; log "done $name"
    else log "failed $name"; return 1; fi
}
trap 'log "pipeline stopped"' EXIT
log "pipeline started"

# 1-2. caches first (the parallel jobs only read them); masking on the CPU beside pretraining on the GPU.
stage data $PY -m mbti_core data || exit 1
if [ -z "$FINETUNE_ONLY" ]; then
stage mask-logodds $PY -m mbti_core mask --masker logodds --from-cafe --output "$RUN/phase2_logodds.jsonl" --no-progress $MASK_ARGS &
stage mask-random $PY -m mbti_core mask --masker random --from-cafe --output "$RUN/phase2_random.jsonl" --no-progress $MASK_ARGS &
stage pretrain $PY train.py pretrain --skip-nsmc --no-progress --output-dir "$CKPT/base" --report "$REPORTS/pretrain.json" $PRETRAIN_ARGS || exit 1
wait
fi

# 3. every fine-tune of the base encoder at once.
common=(--base-model "$CKPT/base" --no-progress)
if [ -z "$FINETUNE_ONLY" ]; then
stage nsmc-check $PY train.py nsmc "${common[@]}" --run-dir "$RUN/nsmc-check" --report "$REPORTS/pretrain.json" $NSMC_CHECK_ARGS &
stage sentiment $PY train.py nsmc "${common[@]}" --no-tfidf --run-dir "$RUN/sentiment" --output-dir "$CKPT/sentiment" \
    --report "$REPORTS/sentiment.json" $SENTIMENT_ARGS &
fi
for seed in $SEEDS; do
    stage mft-seed$seed $PY train.py mft "${common[@]}" --seeds $seed --run-dir "$RUN/mft" \
        --output-dir "$RUN/out/mft-seed$seed" --report "$RUN/out/mft-seed$seed.json" --no-export-onnx $FINETUNE_ARGS &
    stage ft-seed$seed $PY train.py ft "${common[@]}" --seeds $seed --run-dir "$RUN/ft" \
        --output-dir "$RUN/out/ft-seed$seed" --report "$RUN/out/ft-seed$seed.json" --no-export-onnx $FINETUNE_ARGS &
done
variant() {  # variant NAME MODE OPTIONS...: one seed (the first), its own run dir and report
    local name=$1 mode=$2; shift 2
    stage variant-$name $PY train.py $mode "${common[@]}" --seeds ${SEEDS%% *} --run-dir "$RUN/variants/$name" \
        --output-dir "$RUN/variants/$name/out" --report "$RUN/variants/$name.json" --no-export-onnx $FINETUNE_ARGS "$@" &
}
if [ -z "$FINETUNE_ONLY" ]; then
variant ft-sqrt-weighting ft --writer-weighting sqrt
variant ft-cap50 ft --max-texts-per-writer 50
variant mft-random-masking mft --masked "$RUN/phase2_random.jsonl"
variant mft-cafe-logodds mft --masked "$RUN/phase2_logodds.jsonl"
for size in $SCALING_SIZES; do  # one process per size; they merge into one report under a lock
    stage scaling-$size $PY train.py nsmc-scaling "${common[@]}" --sizes $size --run-dir "$RUN/nsmc-scaling" \
        --report "$REPORTS/nsmc_scaling.json" $SCALING_ARGS &
done
fi
wait

# 4. collect the seeds (finished seeds are reused by --resume): ship the best validation seed, mean ± std, and
#    its ONNX graphs (the app's fast start; only the shipped folders need them).
for mode in mft ft; do
    stage collect-$mode $PY train.py $mode "${common[@]}" --seeds $SEEDS --resume --run-dir "$RUN/$mode" \
        --output-dir "$CKPT/$mode" --report "$REPORTS/mft_vs_ft.json" $FINETUNE_ARGS
done
log "pipeline finished"
