#!/usr/bin/env python
"""Size and speed of model configs: parameters, GFLOPs, CPU inference ms, training images/s.

Example:
    python tools/benchmark_model.py configs/hip_effv2_cbam.py configs/hip_effv2_cbam_cpu.py

Inference is timed at batch 1 on the CPU with the configured thread count (the
README's figures: 2 threads), once as a bare forward and once with flip test as
evaluation runs it. Training throughput runs real train steps (forward, loss,
backward, AdamW) on synthetic films through the config's own training pipeline.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch  # noqa: E402
from mmengine.analysis import get_model_complexity_info  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmpose.registry import DATASETS, MODELS  # noqa: E402

import hip_mmpose  # noqa: E402,F401
from hip_mmpose.data_tools.csv_to_coco import convert_dataset  # noqa: E402
from hip_mmpose.data_tools.synthetic import write_synthetic_dataset  # noqa: E402


def _timed(fn, repeats):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def benchmark(config_path, data_root, threads=2, repeats=5, train_steps=3, batch_size=None):
    cfg = Config.fromfile(config_path)
    torch.set_num_threads(threads)
    model = MODELS.build(cfg.model)
    model.init_weights()
    input_w, input_h = cfg.codec['input_size']
    params = sum(p.numel() for p in model.parameters()) / 1e6
    model.eval()
    # (inputs, data_samples=None) runs the estimator in 'tensor' mode: backbone + head
    info = get_model_complexity_info(
        model, inputs=(torch.zeros(1, 3, input_h, input_w), None), show_table=False, show_arch=False
    )
    gflops = info['flops'] / 1e9

    val_cfg = cfg.val_dataloader.dataset.copy()
    val_cfg.update(data_root=str(data_root), ann_file=str(data_root / 'coco' / 'val.json'))
    if 'keypoint_source' in val_cfg:  # a refining stage: crop around the true points here
        val_cfg.update(keypoint_source='annotation', keypoint_file=None)
    val_set = DATASETS.build(val_cfg)
    batch = model.data_preprocessor(pseudo_collate([val_set[0]]), False)
    with torch.no_grad():
        forward_ms = 1e3 * _timed(lambda: model(batch['inputs'], None, mode='tensor'), repeats)
        predict_ms = 1e3 * _timed(lambda: model.test_step(pseudo_collate([val_set[0]])), repeats)

    train_cfg = cfg.train_dataloader.dataset.copy()
    train_cfg.update(data_root=str(data_root), ann_file=str(data_root / 'coco' / 'train.json'))
    train_set = DATASETS.build(train_cfg)
    bs = batch_size or cfg.train_dataloader.batch_size
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    samples = [train_set[i % len(train_set)] for i in range(bs)]
    step_s = _timed(lambda: model.train_step(pseudo_collate(samples), optim), train_steps)
    return dict(
        config=Path(config_path).name,
        input=f'{input_w}x{input_h}',
        params_M=params,
        gflops=gflops,
        forward_ms=forward_ms,
        predict_flip_ms=predict_ms,
        train_img_s=bs / step_s,
        batch=bs,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (default 2)')
    parser.add_argument('--repeats', type=int, default=5, help='timed inference runs')
    parser.add_argument('--train-steps', type=int, default=3, help='timed training steps')
    parser.add_argument('--batch-size', type=int, help='training batch (default: config)')
    args = parser.parse_args(argv)
    init_default_scope('mmpose')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp)
        write_synthetic_dataset(data_root, dict(train=8, val=2), size=(1024, 768), seed=0)
        convert_dataset(data_root, data_root / 'coco', progress=False)
        for config in args.configs:
            rows.append(
                benchmark(
                    config, data_root, args.threads, args.repeats, args.train_steps, args.batch_size
                )
            )
    header = (
        '| config | input | params (M) | GFLOPs | CPU forward ms | CPU predict+flip ms '
        '| train img/s (batch) |'
    )
    print(f'\nCPU: {torch.get_num_threads()} threads, torch {torch.__version__}\n')
    print(header + '\n|' + '---|' * 7)
    for r in rows:
        print(
            f'| {r["config"]} | {r["input"]} | {r["params_M"]:.2f} | {r["gflops"]:.2f} | '
            f'{r["forward_ms"]:.0f} | {r["predict_flip_ms"]:.0f} | '
            f'{r["train_img_s"]:.1f} ({r["batch"]}) |'
        )
    return rows


if __name__ == '__main__':
    main()
