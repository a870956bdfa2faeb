#!/usr/bin/env bash
# Distributed training with torchrun and MMEngine's pytorch launcher.
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node 0 address> PORT=29500 on each node.
# Without CUDA the processes use the gloo backend (tools/train.py switches it).
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
PY=${PY:-python}
cd "$(dirname "$0")/.."
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" tools/train.py "$CONFIG" --launcher pytorch "$@"
