"""ONNX export and the torch-free runtime: same points as MMPose, no torch needed."""

import csv
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from mmpose.codecs import MSRAHeatmap, UDPHeatmap
from mmpose.models.utils.tta import flip_heatmaps as mmpose_flip_heatmaps
from mmpose.structures.bbox import flip_bbox, get_udp_warp_matrix, get_warp_matrix

from hip_mmpose import geometry
from hip_mmpose.apis import HipInferencer
from hip_mmpose.runtime import METADATA_KEY, OnnxHipInferencer, OnnxModelError
from hip_mmpose.runtime import heatmaps as rt_heatmaps
from hip_mmpose.runtime import topdown as rt_topdown
from hip_mmpose.tools.export_onnx import main as export_main
from hip_mmpose.tools.infer import main as infer_main
from hip_mmpose.utils.film_io import list_films, read_film, to_bgr8
from hip_mmpose.utils.uncertainty import ai_sd
from tests.conftest import REPO

#: modules that must stay unimported by the runtime (set to None: import fails)
STACK = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpose', 'mmpretrain', 'mmdet')


@pytest.fixture(scope='module')
def onnx_model(trained_cascade, tmp_path_factory):
    """The tiny two-stage model (a run's best_cascade.pth) exported by the tool."""
    _, _, best = trained_cascade
    out = tmp_path_factory.mktemp('onnx') / 'hip_tiny.onnx'
    assert export_main([str(best), str(out)]) == 0
    return out


@pytest.fixture(scope='module')
def films(synthetic_root):
    return list_films(synthetic_root / 'test' / 'images')


def test_export_holds_both_stages_and_their_settings(onnx_model, trained_cascade):
    model = onnx.load(str(onnx_model))
    assert [i.name for i in model.graph.input] == ['film_input', 'hip_input']
    assert [o.name for o in model.graph.output] == ['film_heatmaps', 'hip_heatmaps']
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    meta = json.loads({p.key: p.value for p in model.metadata_props}[METADATA_KEY])
    film, hip = meta['stages']
    # read from the models MMPose builds, not from code
    torch_model = HipInferencer(trained_cascade[2])
    assert meta['keypoint_names'] == torch_model.keypoint_names
    assert meta['refine_passes'] == 1 and meta['source'] == 'best_cascade.pth'
    assert film['input_size'] == [256, 192] and hip['input_size'] == [192, 192]
    assert film['bbox_padding'] == 1.05 and hip['bbox_padding'] == 1.5
    assert film['use_udp'] and hip['use_udp'] and hip['mirror_hip'] and not film['mirror_hip']
    assert film['codec'] == dict(
        type='UDPHeatmap',
        input_size=[256, 192],
        heatmap_size=[64, 48],
        heatmap_type='gaussian',
        blur_kernel_size=11,
    )
    assert film['flip_test'] and not hip['flip_test']
    assert film['flip_indices'] == list(torch_model.model.dataset_meta['flip_indices'])
    assert film['mean'] == pytest.approx([123.675, 116.28, 103.53]) and film['bgr_to_rgb']
    # the per-side offsets training measured (non-zero) travel with the hip stage
    offsets = torch_model.refiner.keypoint_offsets.numpy()
    assert 'keypoint_offsets' not in film and np.abs(offsets).max() > 0
    assert np.allclose(hip['keypoint_offsets'], offsets)
    # and where its grade is decided (0 here: 4 val films are too few to fit it)
    assert hip['p_line_shift'] == float(torch_model.refiner.p_line_shift) == 0.0
    assert 'p_line_shift' not in film


def test_onnx_and_torch_measure_the_same(onnx_model, trained_cascade, films):
    """Both stages, flip test on: points within 0.05 px, AIs within 0.01 deg."""
    arrays = [read_film(p).image for p in films]
    torch_path = HipInferencer(trained_cascade[2], batch_size=3)
    onnx_path = OnnxHipInferencer(onnx_model, batch_size=3)
    assert torch_path.model.test_cfg['flip_test'] and onnx_path.stages['film']['flip_test']
    points_t, scores_t = torch_path.predict_points(arrays)
    points_o, scores_o = onnx_path.predict_points(arrays)
    assert np.abs(points_t - points_o).max() < 0.05
    assert np.abs(scores_t - scores_o).max() < 1e-3
    ai_t, ai_o = geometry.acetabular_indices(points_t), geometry.acetabular_indices(points_o)
    assert np.array_equal(np.isnan(ai_t), np.isnan(ai_o))
    assert np.nanmax(np.abs(ai_t - ai_o)) < 0.01
    # the whole-film stage alone too (the crops of the hips depend on it)
    film_t = torch_path._film_points([to_bgr8(a) for a in arrays])[0]
    film_o = onnx_path._film_points([to_bgr8(a) for a in arrays])[0]
    assert np.abs(film_t - film_o).max() < 0.05
    # and the records: same keys, same grades and flags
    for a, b in zip(torch_path.predict_arrays(arrays), onnx_path.predict_arrays(arrays)):
        assert a.keys() == b.keys()
        assert a['ihdi_grade'] == b['ihdi_grade'] and a['not_measured'] == b['not_measured']
        assert np.allclose(
            np.array(a['keypoints'], float), np.array(b['keypoints'], float), atol=0.05
        )


def test_infer_cli_writes_the_same_outputs(onnx_model, trained_cascade, films, tmp_path):
    out_t, out_o = tmp_path / 'torch', tmp_path / 'onnx'
    folder = films[0].parent
    assert (
        infer_main(
            [
                str(folder),
                '--checkpoint',
                str(trained_cascade[2]),
                '--out-dir',
                str(out_t),
                '--device',
                'cpu',
            ]
        )
        == 0
    )
    assert infer_main([str(folder), '--onnx', str(onnx_model), '--out-dir', str(out_o)]) == 0
    assert sorted(p.name for p in out_t.iterdir()) == sorted(p.name for p in out_o.iterdir())
    for film in films:
        a = json.loads((out_t / f'{film.name}.json').read_text())
        b = json.loads((out_o / f'{film.name}.json').read_text())
        assert list(a) == list(b) and a['file'] == b['file']
        assert a['image_size'] == b['image_size']
    rows_t = list(csv.DictReader(open(out_t / 'summary.csv')))
    rows_o = list(csv.DictReader(open(out_o / 'summary.csv')))
    assert [list(r) for r in rows_t] == [list(r) for r in rows_o]
    assert [r['ihdi_image_left'] for r in rows_t] == [r['ihdi_image_left'] for r in rows_o]
    # the input folder is still refused as the output folder
    assert infer_main([str(folder), '--onnx', str(onnx_model), '--out-dir', str(folder)]) == 2


def test_runtime_measures_a_film_without_torch(onnx_model, films, tmp_path):
    """In a process where torch and every OpenMMLab package fail to import."""
    out = tmp_path / 'out'
    script = f"""
import json, sys
for name in {STACK!r}:
    sys.modules[name] = None           # 'import torch' raises ModuleNotFoundError
sys.path.insert(0, {str(REPO)!r})
import hip_mmpose
assert not hip_mmpose.TRAINING_STACK
from hip_mmpose.runtime import OnnxHipInferencer
inferencer = OnnxHipInferencer({str(onnx_model)!r})
[(path, film, result, error)] = inferencer.predict_files([{str(films[0])!r}])
assert error is None, error
from tools.infer import main
status = main([{str(films[0])!r}, '--onnx', {str(onnx_model)!r}, '--out-dir', {str(out)!r}])
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {STACK!r}
                and sys.modules[m] is not None)
print(json.dumps(dict(result=result, status=status, loaded=loaded)))
"""
    proc = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['loaded'] == [] and report['status'] == 0
    assert len(report['result']['keypoints']) == 12
    assert set(report['result']['acetabular_index']) == set(geometry.HIP_NAMES)
    assert (out / f'{films[0].name}.json').is_file()
    assert (out / f'{films[0].name}.overlay.png').is_file() and (out / 'summary.csv').is_file()


def test_only_a_missing_training_stack_is_forgiven(tmp_path):
    """Without torch the package imports (no registration); any other missing module
    (here scipy, which the plugin's metric imports) is still an error."""
    script = f"""
import sys
sys.modules['scipy'] = None
sys.path.insert(0, {str(REPO)!r})
try:
    import hip_mmpose
except ModuleNotFoundError as err:
    print('raised', err.name)
"""
    proc = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    words = proc.stdout.split()
    assert words[-2] == 'raised' and words[-1].split('.')[0] == 'scipy', proc.stderr


def test_a_non_hip_or_broken_onnx_file_is_refused_by_name(tmp_path, onnx_model, films, capsys):
    # a valid ONNX model that is not a hip export (no metadata)
    node = onnx.helper.make_node('Identity', ['x'], ['y'])
    value = onnx.helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph(
        [node], 'g', [value], [onnx.helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1])]
    )
    other = tmp_path / 'other.onnx'
    onnx.save(onnx.helper.make_model(graph), str(other))
    with pytest.raises(OnnxModelError, match=f"{other}: no 'hip_mmpose' metadata"):
        OnnxHipInferencer(other)
    # not ONNX at all
    junk = tmp_path / 'junk.onnx'
    junk.write_bytes(b'not a model')
    with pytest.raises(OnnxModelError, match=f'{junk}: not a readable ONNX model'):
        OnnxHipInferencer(junk)
    # a hip export whose metadata was tampered with
    model = onnx.load(str(onnx_model))
    meta = json.loads(model.metadata_props[0].value)
    meta['stages'][0]['codec']['type'] = 'SimCCLabel'
    model.metadata_props[0].value = json.dumps(meta)
    bad = tmp_path / 'bad.onnx'
    onnx.save(model, str(bad))
    with pytest.raises(OnnxModelError, match=f"{bad}: .*codec.type 'SimCCLabel'"):
        OnnxHipInferencer(bad)

    def hip_stage_set(key, value):
        """``bad`` = the export with one key of its hip stage's metadata replaced."""
        meta = json.loads(onnx.load(str(onnx_model)).metadata_props[0].value)
        meta['stages'][1][key] = value
        model.metadata_props[0].value = json.dumps(meta)
        onnx.save(model, str(bad))
        return bad

    # offsets that are not numbers, or of another shape
    for offsets in ([[[float('nan'), 0.0]] * 6] * 2, [[0.0, 0.0]] * 6, 'x'):
        with pytest.raises(OnnxModelError, match=f'{bad}: .*keypoint_offsets: expected'):
            OnnxHipInferencer(hip_stage_set('keypoint_offsets', offsets))
    # a grade decision point that is not a number, or far off the P-line
    for shift in ('x', float('nan'), 0.5, True):
        with pytest.raises(OnnxModelError, match=f'{bad}: .*p_line_shift'):
            OnnxHipInferencer(hip_stage_set('p_line_shift', shift))
    assert OnnxHipInferencer(hip_stage_set('p_line_shift', -0.01)).p_line_shift == -0.01
    # the ranking's cap outside (0, 1] or not a number
    for share in (0.0, 1.5, 'x', True, None):
        with pytest.raises(OnnxModelError, match=f'{bad}: .*rank_end_share'):
            OnnxHipInferencer(hip_stage_set('rank_end_share', share))
    # the CLI: one line naming the file, exit 2, nothing written
    out = tmp_path / 'out'
    assert infer_main([str(films[0]), '--onnx', str(other), '--out-dir', str(out)]) == 2
    assert str(other) in capsys.readouterr().err and not out.exists()


def test_export_refuses_what_the_runtime_does_not_reproduce():
    """A SimCC head (the ablation config) is refused naming its codec."""
    from mmengine.config import Config
    from mmpose.apis import init_model

    from hip_mmpose.apis.onnx_export import ExportError, stage_metadata

    cfg = Config.fromfile(str(REPO / 'configs' / 'ablations' / 'hip_refine_simcc_cpu.py'))
    cfg.pop('film_stage', None)
    model = init_model(cfg, None, device='cpu')
    with pytest.raises(
        ExportError,
        match=r"simcc.pth \(hip stage\): codec 'SimCCLabel' is "
        'not supported',
    ):
        stage_metadata('hip', model, 'simcc.pth')


# ------------------------------------------------------------------ parts vs MMPose's
def test_crops_match_mmpose():
    rng = np.random.default_rng(0)
    center = rng.uniform(50, 400, 2).astype(np.float32)
    scale = rng.uniform(40, 300, 2).astype(np.float32)
    for size in ((256, 192), (192, 192)):
        assert np.array_equal(
            rt_topdown.get_udp_warp_matrix(center, scale, 0.0, size),
            get_udp_warp_matrix(center, scale, 0.0, size),
        )
        assert np.array_equal(
            rt_topdown.get_warp_matrix(center, scale, 0.0, size),
            get_warp_matrix(center, scale, 0.0, size),
        )
    box = np.array([10.5, 20.25, 80.75, 99.0], np.float32)
    assert np.array_equal(
        rt_topdown.flip_bbox_x(box, 321),
        flip_bbox(box[None], image_size=(321, 200), bbox_format='xyxy')[0],
    )


@pytest.mark.parametrize(
    'codec',
    [
        UDPHeatmap(input_size=(256, 192), heatmap_size=(64, 48), sigma=2),
        MSRAHeatmap(input_size=(192, 192), heatmap_size=(48, 48), sigma=2, unbiased=True),
        MSRAHeatmap(input_size=(192, 192), heatmap_size=(48, 48), sigma=2),
    ],
)
def test_decoding_and_flip_match_mmpose(codec):
    rng = np.random.default_rng(1)
    W, H = codec.heatmap_size
    points = rng.uniform([4, 4], [codec.input_size[0] - 4, codec.input_size[1] - 4], (1, 6, 2))
    maps = codec.encode(points)['heatmaps'] + rng.uniform(0, 0.05, (6, H, W)).astype(np.float32)
    settings = dict(
        type=type(codec).__name__,
        input_size=codec.input_size,
        heatmap_size=codec.heatmap_size,
        blur_kernel_size=codec.blur_kernel_size,
        heatmap_type=getattr(codec, 'heatmap_type', None),
        unbiased=getattr(codec, 'unbiased', None),
    )
    keypoints, scores = codec.decode(maps.copy())
    ours, our_scores = rt_heatmaps.decode(settings, maps)
    assert np.allclose(ours, keypoints[0], atol=1e-5) and np.array_equal(our_scores, scores[0])
    batch = np.stack([maps, maps[::-1]])
    for shift in (False, True):
        expected = mmpose_flip_heatmaps(
            torch.from_numpy(batch), flip_indices=[1, 0, 2, 3, 5, 4], shift_heatmap=shift
        ).numpy()
        assert np.array_equal(rt_heatmaps.flip_heatmaps(batch, [1, 0, 2, 3, 5, 4], shift), expected)


#: a calibration as tools/train.py fits one (tests/test_uncertainty.py fits them)
CALIBRATION = dict(
    level=0.9,
    ai_q=1.7,
    ai_floor=1.1,
    grade_a=-0.5,
    grade_b=2.0,
    grade_floor=0.01,
    p_low=0.2,
    p_high=0.8,
    ai_threshold=25.0,
    flag_q=1.0,
    edge_power=0.5,
    edge_ref=2.0,
)


@pytest.fixture(scope='module')
def calibrated(trained_cascade, tmp_path_factory):
    """The tiny model with an uncertainty calibration in its refining stage, as a
    published file and its ONNX export (4 val films are too few to fit one)."""
    from mmengine.config import Config

    from hip_mmpose.apis.model_files import read_published, save_published
    from hip_mmpose.utils.uncertainty import CALIBRATION_KEYS

    folder = tmp_path_factory.mktemp('calibrated')
    stages = []
    for name, cfg, weights in read_published(trained_cascade[2]):
        if name == 'hip':
            weights['uncertainty'] = torch.tensor([CALIBRATION[k] for k in CALIBRATION_KEYS])
        stages.append((name, Config(cfg), weights, trained_cascade[2]))
    published = save_published(folder / 'calibrated.pth', stages)
    onnx_file = folder / 'calibrated.onnx'
    assert export_main([str(published), str(onnx_file)]) == 0
    return published, onnx_file


def test_intervals_are_the_same_in_both_runtimes(calibrated, films, tmp_path):
    """The calibration travels from the checkpoint into the ONNX file; both runtimes
    give the same heatmap spreads, intervals (to 0.01 deg) and probabilities."""
    published, onnx_file = calibrated
    arrays = [read_film(p).image for p in films]
    torch_path, onnx_path = HipInferencer(published), OnnxHipInferencer(onnx_file)
    assert torch_path.uncertainty == pytest.approx(CALIBRATION)
    assert onnx_path.uncertainty == pytest.approx(CALIBRATION)
    spreads_t, spreads_o = torch_path._predict(arrays)[2], onnx_path._predict(arrays)[2]
    assert np.isfinite(spreads_t).all() and (spreads_t > 0).any()
    assert np.abs(spreads_t - spreads_o).max() < 0.01
    for a, b in zip(torch_path.predict_arrays(arrays), onnx_path.predict_arrays(arrays)):
        for hip in geometry.HIP_NAMES:
            ia, ib = a['acetabular_index_interval'][hip], b['acetabular_index_interval'][hip]
            if a['acetabular_index'][hip] is None:
                assert ia is None and a['review'][hip] == dict(flag=True, reason='not measured')
                continue
            assert np.allclose(ia, ib, atol=0.011)
            assert ia[0] < a['acetabular_index'][hip] < ia[1]
            # by hand: AI +- ai_q x sqrt(floor^2 + sd^2) x (edge_ref / roof edge)^power
            h = geometry.HIP_NAMES.index(hip)
            edge = a['roof_edge'][hip]
            assert edge > 0 and abs(edge - b['roof_edge'][hip]) < 1e-3
            points = np.asarray(a['keypoints'])[:, :2]
            sd = ai_sd(points, np.asarray(a['keypoint_spread_px']))[h]
            factor = (2.0 / np.clip(edge, 0.5, 8.0)) ** 0.5
            half = CALIBRATION['ai_q'] * np.hypot(CALIBRATION['ai_floor'], sd) * factor
            assert (ia[1] - ia[0]) / 2 == pytest.approx(half, abs=0.011)
            assert abs(a['p_ihdi_ge2'][hip] - b['p_ihdi_ge2'][hip]) < 1e-3
            assert a['review'][hip]['flag'] == b['review'][hip]['flag']
            crosses = ia[0] <= 25.0 < ia[1]
            assert a['interval_crosses_threshold'][hip] == crosses
            # the review's AI rule: the narrower triage interval (flag_q) crosses 25
            ai = a['acetabular_index'][hip]
            half = (ia[1] - ia[0]) / 2 * CALIBRATION['flag_q'] / CALIBRATION['ai_q']
            near = ai - half <= 25.0 < ai + half
            assert not near or a['review'][hip]['flag']
            assert near == ('AI within' in a['review'][hip]['reason'])
    # the CLI writes them: JSON fields, CSV columns and the overlay's interval text
    out = tmp_path / 'out'
    assert infer_main([str(films[0].parent), '--onnx', str(onnx_file), '--out-dir', str(out)]) == 0
    record = json.loads((out / f'{films[0].name}.json').read_text())
    assert set(record['acetabular_index_interval']) == set(geometry.HIP_NAMES)
    with open(out / 'summary.csv', newline='') as fh:
        row = next(csv.DictReader(fh))
    assert {'ai_low_image_left', 'p_ihdi_ge2_image_right', 'review_image_left'} <= set(row)


def test_rank_film_travels_to_the_runtime_and_can_be_left_out(
    onnx_model, trained_cascade, films, tmp_path
):
    """The configs rank the film (RankFilm after LoadFilm in both stages): the export
    records it and the runtime ranks too (the points of both runtimes are compared
    above). A model whose test pipelines leave it out is exported without it, both
    runtimes again agree, and its points are not the ranked model's (the ranking
    reaches the network)."""
    from mmengine.config import Config

    from hip_mmpose.apis.model_files import read_published, save_published

    def stages_of(path):
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}[METADATA_KEY]
        return json.loads(meta)['stages']

    assert [s['rank_film'] for s in stages_of(onnx_model)] == [True, True]
    assert [s['rank_end_share'] for s in stages_of(onnx_model)] == [0.3, 0.3]
    stages = []
    for name, cfg, weights in read_published(trained_cascade[2]):
        pipeline = cfg['test_dataloader']['dataset']['pipeline']
        assert [step['type'] for step in pipeline[:2]] == ['LoadFilm', 'RankFilm']
        del pipeline[1]
        stages.append((name, Config(cfg), weights, trained_cascade[2]))
    published = save_published(tmp_path / 'unranked.pth', stages)
    onnx_file = tmp_path / 'unranked.onnx'
    assert export_main([str(published), str(onnx_file)]) == 0
    assert [s['rank_film'] for s in stages_of(onnx_file)] == [False, False]
    assert not any('rank_end_share' in s for s in stages_of(onnx_file))
    arrays = [read_film(p).image for p in films]
    points_t = HipInferencer(published, batch_size=3).predict_points(arrays)[0]
    points_o = OnnxHipInferencer(onnx_file, batch_size=3).predict_points(arrays)[0]
    assert np.abs(points_t - points_o).max() < 0.05
    ranked = HipInferencer(trained_cascade[2], batch_size=3).predict_points(arrays)[0]
    assert np.abs(points_t - ranked).max() > 0.5


@pytest.mark.parametrize('values', [9, 10])
def test_files_written_before_the_review_rule_load_with_the_intervals_rule(
    calibrated, tmp_path, values
):
    """A calibration of 9 values (0.2.0 development files, before flag_q) loads in
    both runtimes with flag_q = ai_q, one of 10 (before the roof edge) with
    edge_power = 0: the rules those files were measured with."""
    from mmengine.config import Config

    from hip_mmpose.apis.model_files import read_published, save_published

    published, onnx_file = calibrated
    stages = []
    for name, cfg, weights in read_published(published):
        if name == 'hip':
            weights['uncertainty'] = weights['uncertainty'][:values].clone()
        stages.append((name, Config(cfg), weights, published))
    older = save_published(tmp_path / 'older.pth', stages)
    expected = dict(CALIBRATION, edge_power=0.0, edge_ref=0.0)
    if values == 9:
        expected['flag_q'] = CALIBRATION['ai_q']
    assert HipInferencer(older).uncertainty == pytest.approx(expected)
    model = onnx.load(str(onnx_file))
    prop = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    meta = json.loads(prop.value)
    meta['stages'][1]['uncertainty'] = meta['stages'][1]['uncertainty'][:values]
    prop.value = json.dumps(meta)
    onnx.save(model, str(tmp_path / 'older.onnx'))
    assert OnnxHipInferencer(tmp_path / 'older.onnx').uncertainty == pytest.approx(expected)


@pytest.mark.parametrize(
    'key,value', [('ai_q', -1.0), ('ai_floor', float('nan')), ('edge_power', 5.0)]
)
def test_a_tampered_calibration_is_refused(calibrated, tmp_path, key, value):
    """A calibration out of its bounds is refused by name in both file kinds."""
    from mmengine.config import Config

    from hip_mmpose.apis.model_files import read_published, save_published
    from hip_mmpose.utils.uncertainty import CALIBRATION_KEYS

    published, onnx_file = calibrated
    stages = []
    for name, cfg, weights in read_published(published):
        if name == 'hip':
            weights['uncertainty'][CALIBRATION_KEYS.index(key)] = value
        stages.append((name, Config(cfg), weights, published))
    bad = save_published(tmp_path / 'bad.pth', stages)
    with pytest.raises(ValueError, match=key):
        HipInferencer(bad)
    model = onnx.load(str(onnx_file))
    prop = next(p for p in model.metadata_props if p.key == METADATA_KEY)
    meta = json.loads(prop.value)
    meta['stages'][1]['uncertainty'][CALIBRATION_KEYS.index(key)] = value
    prop.value = json.dumps(meta)
    onnx.save(model, str(tmp_path / 'bad.onnx'))
    with pytest.raises(OnnxModelError, match=key):
        OnnxHipInferencer(tmp_path / 'bad.onnx')


def test_test_tool_reports_the_intervals(calibrated, synthetic_root, tmp_path):
    """tools/test.py's metric (HipMetric through the Runner) reads each hip's spread
    and the model's calibration: the interval keys, and the records carry them."""
    from hip_mmpose.apis import test
    from tests.conftest import DEMO_CONFIG, TINY_BOTH_OPTIONS

    result = test(
        DEMO_CONFIG,
        str(calibrated[0]),
        data_root=str(synthetic_root),
        work_dir=str(tmp_path),
        cfg_options=dict(TINY_BOTH_OPTIONS),
    )
    metrics = result.stage_metrics['hip']
    for key in ('AI_PI_coverage', 'triage_flagged'):
        assert 0 <= metrics[f'hip/{key}'] <= 1
    # the tiny model's flat heatmaps spread widely: wide, but finite, intervals
    assert np.isfinite(metrics['hip/AI_PI_width']) and metrics['hip/AI_PI_width'] > 0
    assert 'hip/AI_PI_coverage' not in result.stage_metrics['film']  # no spreads there
    films = json.loads(open(result.per_film).read())['films']
    assert all(len(f['keypoint_spread_px']) == 12 for f in films)
    assert any(f['acetabular_index_interval']['image_left'] for f in films)
