#!/usr/bin/env bash
# Distributed testing with torchrun and MMEngine's pytorch launcher.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for tools/dist_train.sh.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
PY=${PY:-python}
cd "$(dirname "$0")/.."
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
