#!/usr/bin/env bash
# Accuracy recipe on real films: convert, train a whole-film first stage, box the
# points it finds, train the refining second stage, test both on the test split.
# Model selection uses val only; test is touched once per stage at the end.
#
#   tools/benchmark_accuracy.sh                       # ../shared/hip-xray, CPU sizes
#   DATA=/path/to/films EPOCHS1=30 EPOCHS2=30 tools/benchmark_accuracy.sh
#
# On a GPU machine the first stage is configs/hip_effv2_cbam.py (EfficientNetV2-S,
# 512x384); on a CPU the b0 variants. Prints both stages' test metrics and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/hip-xray}
NAME=$(basename "${DATA%/}")
ANN=data/$NAME/coco
WORK=${WORK:-work_dirs/accuracy-$NAME}
EPOCHS1=${EPOCHS1:-30}
EPOCHS2=${EPOCHS2:-30}
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  STAGE1=${STAGE1:-configs/hip_effv2_cbam.py}
  STAGE2_OPTS="model.backbone.arch=s model.backbone.fuse_channels=128 model.head.in_channels=128 model.head.conv_out_channels=(128,) train_dataloader.batch_size=16"
else
  STAGE1=${STAGE1:-configs/hip_effv2_cbam_cpu.py}
  STAGE2_OPTS=""
fi
STAGE2=${STAGE2:-configs/hip_effv2_cbam_refine_cpu.py}
start=$(date +%s)
best() { ls -t "$1"/best_*.pth | head -n 1; }
sched() { echo "train_cfg.max_epochs=$1 param_scheduler.1.T_max=$1 param_scheduler.1.end=$1"; }

"$PY" tools/convert_csv_to_coco.py "$DATA" --out-dir "$ANN" --no-progress

# stage 1: whole film
if [ ! -e "$WORK/stage1/DONE" ]; then
  "$PY" tools/train.py "$STAGE1" --data-root "$DATA" --ann-root "$ANN" \
      --work-dir "$WORK/stage1" --cfg-options $(sched "$EPOCHS1")
  touch "$WORK/stage1/DONE"
fi
for split in val test; do
  "$PY" tools/test.py "$STAGE1" "$(best "$WORK/stage1")" --data-root "$DATA" --ann-root "$ANN" \
      --work-dir "$WORK/stage1" --split $split --dump "$WORK/stage1/pred_$split.pkl" \
      > "$WORK/stage1/metrics_$split.txt"
  "$PY" tools/make_refine_boxes.py "$WORK/stage1/pred_$split.pkl" --out "$WORK/boxes_$split.json"
done

# stage 2: refine inside the box of the first stage's points
BOXES="val_dataloader.dataset.bbox_file=$WORK/boxes_val.json test_dataloader.dataset.bbox_file=$WORK/boxes_test.json"
if [ ! -e "$WORK/stage2/DONE" ]; then
  "$PY" tools/train.py "$STAGE2" --data-root "$DATA" --ann-root "$ANN" --work-dir "$WORK/stage2" \
      --cfg-options $(sched "$EPOCHS2") $BOXES $STAGE2_OPTS
  touch "$WORK/stage2/DONE"
fi
"$PY" tools/test.py "$STAGE2" "$(best "$WORK/stage2")" --data-root "$DATA" --ann-root "$ANN" \
    --work-dir "$WORK/stage2" --cfg-options $BOXES $STAGE2_OPTS > "$WORK/stage2/metrics_test.txt"

echo "== stage 1 (whole film, $STAGE1) on test =="
grep -E "^hip/(MRE|AI_MAE|AI_r|AI_ICC|IHDI_bal_acc|IHDI_kappa|IHDI_ge2_sens) " "$WORK/stage1/metrics_test.txt"
echo "== stage 2 (refined, $STAGE2) on test =="
grep -E "^hip/(MRE|AI_MAE|AI_r|AI_ICC|IHDI_bal_acc|IHDI_kappa|IHDI_ge2_sens) " "$WORK/stage2/metrics_test.txt"
echo "wall time: $(( ($(date +%s) - start) / 60 )) min; logs and per-film results under $WORK"
