#!/usr/bin/env bash
# Accuracy of the design card's model on real films, with the card's commands only:
# convert, train both stages (tools/train.py), test once on the test split
# (tools/test.py: the whole-film stage's and the final points' metrics, bootstrap
# CIs), and the report figures. Model selection uses val only.
#
#   tools/benchmark_accuracy.sh                          # CPU config, ../shared/hip-xray
#   CONFIG=configs/hip_effv2_cbam.py tools/benchmark_accuracy.sh      # GPU config
#   DATA=/path/to/films WORK=work_dirs/mine tools/benchmark_accuracy.sh
#   RESUME=1 tools/benchmark_accuracy.sh                 # continue an interrupted run
#
# Prints the training wall time, the test metrics of both stages and where the
# report is. Extra arguments go to tools/train.py (e.g. --cfg-options ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/hip-xray}
NAME=$(basename "${DATA%/}")
ANN=${ANN:-data/$NAME/coco}
CONFIG=${CONFIG:-configs/hip_effv2_cbam_cpu.py}
WORK=${WORK:-work_dirs/accuracy-$(basename "$CONFIG" .py)}
# the headline measures: hip_mmpose.evaluation.hip_metric.HEADLINE_METRICS
HEADLINE=$("$PY" -c 'from hip_mmpose.evaluation.hip_metric import HEADLINE_METRICS as H, METRIC_PREFIX as P; print(P + "/(" + "|".join(H) + ")")' 2>/dev/null)
HEADLINE="^(film_stage/)?$HEADLINE(_ci_low|_ci_high)? "

"$PY" tools/convert_csv_to_coco.py "$DATA" --out-dir "$ANN" --no-progress
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --data-root "$DATA" --ann-root "$ANN" --work-dir "$WORK" \
    ${RESUME:+--resume} "$@"
trained=$(date +%s)
"$PY" tools/test.py "$CONFIG" "$WORK/best_cascade.pth" --data-root "$DATA" --ann-root "$ANN" \
    --work-dir "$WORK/test" --report "$WORK/report" | tee "$WORK/metrics_test.txt" \
    | grep -E "$HEADLINE|^test:|^reference "
echo "training wall time (both stages): $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s"
echo "model: $WORK/best_cascade.pth; report: $WORK/report/summary.html"
