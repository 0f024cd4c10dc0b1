#!/usr/bin/env bash
# MFT vs FT on a 2-core CPU, the run behind the shipped checkpoints/mft, checkpoints/ft and reports/mft_vs_ft.json:
#
#   MBTI_DATA_DIR=../shared/data bash scripts/cpu_mft_vs_ft.sh
#
# Three seeds each, same phase-3 settings for both (MFT = phases 1 -> 2 -> 3 on the study's data, FT = phase 3
# alone, both from checkpoints/base). Two queues side by side with one thread each (FT seeds 0-2; MFT seeds 0-2):
# on 2 cores that beats one run on two threads for this small model. Every run resumes its own state
# ($RUN/<mode>/seed<S>/phase<k>/state), a finished seed is marked $RUN/<mode>-seed<S>.done and skipped on a re-run,
# and $RUN/events logs start/end with Unix times. Then the seeds are collected: the best validation seed of each
# mode is shipped with its ONNX graphs, and reports/mft_vs_ft.json gets mean ± std and both comparisons.
# About 2.5 hours on an otherwise idle 2-core machine (phase 3: 2,349 steps of 64 length-grouped texts).
set -u
cd "$(dirname "$0")/.."

RUN=${RUN:-runs/cpu}
CKPT=${CKPT:-checkpoints}
REPORTS=${REPORTS:-reports}
PY=${PYTHON:-.venv/bin/python}
SEEDS=${SEEDS:-"0 1 2"}
FINETUNE_ARGS=${FINETUNE_ARGS:-}
mkdir -p "$RUN/out" "$REPORTS"

queue() {  # queue MODE: that mode's seeds one after another, on one thread
    local mode=$1 seed
    for seed in $SEEDS; do
        [ -f "$RUN/$mode-seed$seed.done" ] && continue
        echo "$(date +%s) start $mode $seed" >> "$RUN/events"
        if OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $PY train.py "$mode" --base-model "$CKPT/base" --no-progress \
            --seeds "$seed" --resume --run-dir "$RUN/$mode" --output-dir "$RUN/out/$mode-seed$seed" \
            --report "$RUN/out/$mode-seed$seed.json" --no-export-onnx $FINETUNE_ARGS > "$RUN/$mode-seed$seed.log" 2>&1
        then touch "$RUN/$mode-seed$seed.done"; echo "$(date +%s) end $mode $seed" >> "$RUN/events"
        else echo "$(date +%s) failed $mode $seed" >> "$RUN/events"; return 1; fi
    done
}
queue ft & ft_queue=$!
queue mft; mft_status=$?
wait $ft_queue; ft_status=$?
[ $mft_status -eq 0 ] && [ $ft_status -eq 0 ] || { echo "a training run failed: see $RUN/events and the logs" >&2; exit 1; }

# Collect (finished seeds are reused by --resume): ship the best validation seed, mean ± std over seeds.
for mode in mft ft; do
    $PY train.py "$mode" --base-model "$CKPT/base" --no-progress --seeds $SEEDS --resume --run-dir "$RUN/$mode" \
        --output-dir "$CKPT/$mode" --report "$REPORTS/mft_vs_ft.json" $FINETUNE_ARGS > "$RUN/collect-$mode.log" 2>&1 \
        || { echo "collecting $mode failed: see $RUN/collect-$mode.log" >&2; exit 1; }
done
echo "done: $CKPT/mft, $CKPT/ft, $REPORTS/mft_vs_ft.json"
