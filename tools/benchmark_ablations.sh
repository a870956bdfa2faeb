#!/usr/bin/env bash
# Ablations of the refining stage: train each config's per-hip stage on the same
# first-stage points and compare on val (model selection) and test.
#
#   POINTS=work_dirs/accuracy-hip_effv2_cbam_cpu/points tools/benchmark_ablations.sh \
#       configs/hip_effv2_cbam_cpu.py configs/ablations/*.py
#
# POINTS holds a first stage's val_per_film.json and test_per_film.json (tools/test.py
# on the whole-film config with --split val / test writes them), so every variant
# crops the same hips. Each config's refining stage is trained alone (film_stage=None)
# with its own schedule; JOBS variants run side by side (1 on a CPU: two trainings on
# 2 cores run 5x slower; several on a GPU). OPTS adds --cfg-options to every training.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/hip-xray}
ANN=${ANN:-data/$(basename "${DATA%/}")/coco}
POINTS=${POINTS:?set POINTS to a folder with val_per_film.json and test_per_film.json}
WORK=${WORK:-work_dirs/ablations}
JOBS=${JOBS:-1}
# the headline measures: hip_mmpose.evaluation.hip_metric.HEADLINE_METRICS
HEADLINE=$("$PY" -c 'from hip_mmpose.evaluation.hip_metric import HEADLINE_METRICS as H, METRIC_PREFIX as P; print(P + "/(" + "|".join(H) + ")")' 2>/dev/null)
HEADLINE="^$HEADLINE "
mkdir -p "$WORK"

one() {  # config
  local config=$1
  local name work start
  name=$(basename "$config" .py); work=$WORK/$name; start=$(date +%s)
  "$PY" tools/train.py "$config" --data-root "$DATA" --ann-root "$ANN" --work-dir "$work" \
      --cfg-options film_stage=None val_dataloader.dataset.keypoint_file="$POINTS/val_per_film.json" \
      ${OPTS:-} > "$work.train.log" 2>&1
  local best; best=$(ls -t "$work"/best_*.pth | head -n 1)
  for split in val test; do
    "$PY" tools/test.py "$config" "$best" --data-root "$DATA" --ann-root "$ANN" \
        --work-dir "$work/test_$split" --split $split --cfg-options film_stage=None \
        test_dataloader.dataset.keypoint_file="$POINTS/${split}_per_film.json" \
        > "$work.$split.txt" 2>&1
  done
  echo "== $name ($(( ($(date +%s) - start) / 60 )) min, $(basename "$best"))"
  for split in val test; do
    echo "   $split: $(grep -E "$HEADLINE" "$work.$split.txt" | awk '{printf "%s %.3f  ", $1, $2}')"
  done
}

running=0
for config in "$@"; do
  one "$config" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait
