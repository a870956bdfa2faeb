"""Films as hospitals keep them: DICOM (and 16-bit PNG) read the one way, spacing to mm.

The DICOMs are written here with pydicom from an 8-bit film (a real one where
../shared is present, else a synthetic one): 16-bit storage with BitsStored 12,
rescale slope/intercept, a window, MONOCHROME1 and MONOCHROME2, a pixel spacing.
"""

import csv
import json
import shutil

import cv2
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    MPEG2MPML,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from hip_mmpose.utils.film_io import FilmReadError, read_film, read_spacing_csv
from tests.conftest import FILM_CONFIG, SHARED_DATA, TINY_LOADERS

PATIENT = 'DOE^JANE'  # must never reach an output
SLOPE, INTERCEPT = 0.5, -100.0


def write_dicom(
    path,
    stored,
    photometric='MONOCHROME2',
    window=None,
    spacing=None,
    spacing_keyword='ImagerPixelSpacing',
    slope=SLOPE,
    intercept=INTERCEPT,
    bits_stored=12,
    pixel_data=True,
    frames=None,
    syntax=ExplicitVRLittleEndian,
    encapsulated=None,
):
    """Write ``stored`` (uint16 rows x cols) as a single-frame DICOM film."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.PatientName, ds.PatientID, ds.Modality = PATIENT, 'ID-4711', 'DX'
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if spacing is not None:
        setattr(ds, spacing_keyword, list(spacing))
    if frames is not None:
        ds.NumberOfFrames = frames
    if pixel_data:
        ds.PixelData = (
            encapsulate([encapsulated])
            if encapsulated is not None
            else np.ascontiguousarray(stored, '<u2').tobytes()
        )
    ds.save_as(path, enforce_file_format=True)
    return path


def linear_window(lo, hi):
    """(centre, width) of DICOM's LINEAR window mapping [lo, hi] onto 0-255."""
    width = hi - lo + 1
    return lo + 0.5 + (width - 1) / 2, width


@pytest.fixture(scope='module')
def film8(synthetic_root):
    """An 8-bit grey film: a real one (if ../shared is present) or a synthetic one."""
    real = SHARED_DATA / 'test' / 'images'
    source = (
        sorted(real.iterdir())[0]
        if real.is_dir()
        else sorted((synthetic_root / 'test' / 'images').iterdir())[0]
    )
    grey = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE)
    assert grey is not None and grey.dtype == np.uint8
    return grey


def stored12(grey):
    """The 8-bit film as 12 bits (what the modality stores), 8 + 16 x grey."""
    return grey.astype(np.uint16) * 16 + 8


@pytest.mark.parametrize('photometric', ['MONOCHROME2', 'MONOCHROME1'])
def test_dicom_gives_the_network_input_of_its_8bit_png(film8, photometric, tmp_path):
    png = tmp_path / 'film.png'
    cv2.imwrite(str(png), film8)
    stored = stored12(film8)
    if photometric == 'MONOCHROME1':  # white is low: stored inverted, window on the inverse
        stored = 4095 - stored
    modality = stored * SLOPE + INTERCEPT  # Modality LUT (rescale)
    lo, hi = (-96.0, 1944.0) if photometric == 'MONOCHROME2' else (-96.5, 1943.5)
    assert modality.min() >= lo and modality.max() <= hi
    dcm = write_dicom(
        tmp_path / 'film.dcm', stored, photometric, linear_window(lo, hi), spacing=(0.14, 0.15)
    )
    from_dicom, from_png = read_film(dcm), read_film(png)
    assert from_dicom.image.shape == from_png.image.shape == film8.shape + (3,)
    assert np.abs(from_dicom.image.astype(int) - from_png.image).max() <= 1
    # DICOM's (row, column) spacing becomes (x, y)
    assert from_dicom.pixel_spacing == (0.15, 0.14)
    assert from_dicom.spacing_source == 'ImagerPixelSpacing'
    assert from_png.pixel_spacing is None


def test_pixel_spacing_is_preferred_to_imager_pixel_spacing(film8, tmp_path):
    path = write_dicom(tmp_path / 'a.dcm', stored12(film8), spacing=(0.2, 0.2))
    import pydicom

    ds = pydicom.dcmread(path)
    ds.PixelSpacing = [0.125, 0.125]
    ds.save_as(path)
    film = read_film(path)
    assert film.pixel_spacing == (0.125, 0.125) and film.spacing_source == 'PixelSpacing'
    # a spacing.csv value overrides the header (e.g. calibrated with a marker)
    assert read_film(path, pixel_spacing=0.1).pixel_spacing == (0.1, 0.1)


def test_without_a_window_dicom_and_16bit_png_share_the_robust_range(film8, tmp_path):
    stored = stored12(film8)
    dcm = write_dicom(tmp_path / 'film.dcm', stored, slope=None)
    png16 = tmp_path / 'film16.png'
    cv2.imwrite(str(png16), stored)
    a, b = read_film(dcm).image, read_film(png16).image
    assert np.abs(a.astype(int) - b).max() <= 1
    assert b.max() == 255 and b.min() == 0  # the 12 bits spread over 0-255, not 0-15


def test_a_12bit_png_reaches_training_and_inference_as_the_same_input(film8, tmp_path):
    """Training: LoadFilm from the file. Inference: the film read by the inferencer
    (read_film), and an array handed to it (LoadFilm on ``img``)."""
    from mmengine.config import Config
    from mmengine.dataset import Compose

    png16 = tmp_path / 'film16.png'
    cv2.imwrite(str(png16), stored12(film8))
    cfg = Config.fromfile(FILM_CONFIG)
    assert cfg.train_pipeline[0].type == cfg.val_pipeline[0].type == 'LoadFilm'
    load = Compose(cfg.val_pipeline[:1])
    training = load(dict(img_path=str(png16)))['img']
    from_array = load(dict(img=cv2.imread(str(png16), cv2.IMREAD_UNCHANGED)))['img']
    inference = read_film(png16).image
    assert training.dtype == np.uint8 and training.max() > 200  # not OpenCV's 0-15
    assert np.array_equal(training, inference) and np.array_equal(training, from_array)
    # MMPose's LoadImage would have handed the network values 0-15
    assert cv2.imread(str(png16)).max() <= 16


def test_broken_dicoms_give_clear_errors(film8, tmp_path):
    stored = stored12(film8)
    cases = {
        'no pixel data': (dict(pixel_data=False), 'without pixel data'),
        'several frames': (dict(frames=3), 'with 3 frames'),
        'unsupported compression': (
            dict(syntax=MPEG2MPML, encapsulated=b'\x00\x00\x01\xb3' + b'\x00' * 60),
            'MPEG2',
        ),
    }
    for name, (kwargs, message) in cases.items():
        path = write_dicom(tmp_path / f'{name}.dcm', stored, **kwargs)
        with pytest.raises(FilmReadError, match=message) as err:
            read_film(path)
        assert str(err.value).startswith(str(path)), name
    (tmp_path / 'cut.dcm').write_bytes((tmp_path / 'several frames.dcm').read_bytes()[:140])
    with pytest.raises(FilmReadError, match='cut.dcm'):
        read_film(tmp_path / 'cut.dcm')


def test_spacing_csv_errors_name_file_and_line(tmp_path):
    good = tmp_path / 'spacing.csv'
    good.write_text('file,spacing_mm\na.png,0.139\nb.png,0.2\n')
    assert read_spacing_csv(good) == {'a.png': (0.139, 0.139), 'b.png': (0.2, 0.2)}
    for text, message in [
        ('name,mm\na.png,1\n', 'expected the columns'),
        ('file,spacing_mm\na.png,abc\n', r'spacing.csv:2: spacing_mm'),
        ('file,spacing_mm\na.png,-1\n', 'outside'),
        ('file,spacing_mm\na.png,1\na.png,1\n', 'listed twice'),
        ('file,spacing_mm\n../a.png,1\n', 'not a plain file name'),
    ]:
        good.write_text(text)
        with pytest.raises(FilmReadError, match=message):
            read_spacing_csv(good)


# ------------------------------------------------------------ a DICOM data set
@pytest.fixture(scope='module')
def dicom_root(synthetic_root, tmp_path_factory):
    """The synthetic set with every film as a DICOM (MONOCHROME1 on odd films), and
    an ImagerPixelSpacing of 0.1 x 0.2 mm (row, column)."""
    root = tmp_path_factory.mktemp('dicom_set')
    for split in ('train', 'val', 'test'):
        shutil.copytree(synthetic_root / split / 'annotations', root / split / 'annotations')
        (root / split / 'images').mkdir()
        for i, png in enumerate(sorted((synthetic_root / split / 'images').iterdir())):
            grey = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
            stored, photometric, (lo, hi) = stored12(grey), 'MONOCHROME2', (-96.0, 1944.0)
            if i % 2:
                stored, photometric, (lo, hi) = 4095 - stored, 'MONOCHROME1', (-96.5, 1943.5)
            write_dicom(
                root / split / 'images' / f'{png.stem}.dcm',
                stored,
                photometric,
                linear_window(lo, hi),
                spacing=(0.1, 0.2),
            )
    return root


def test_converter_and_training_run_on_a_dicom_set(dicom_root, tmp_path):
    from hip_mmpose.data_tools.csv_to_coco import convert_dataset
    from tools.train import main as train_main

    written = convert_dataset(dicom_root, dicom_root / 'coco', progress=False)
    coco = json.loads(written['train'].read_text())
    assert all(img['file_name'].endswith('.dcm') for img in coco['images'])
    assert all(img['pixel_spacing'] == [0.2, 0.1] for img in coco['images'])  # (x, y)
    assert coco['categories'][0]['keypoints'][0] == 'image_left_roof_lateral'
    text = ''.join(p.read_text() for p in written.values())
    assert PATIENT not in text and 'ID-4711' not in text
    runner = train_main(
        [
            FILM_CONFIG,
            '--data-root',
            str(dicom_root),
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            'train_cfg.max_epochs=1',
            'randomness.seed=0',
            *TINY_LOADERS,
        ]
    )
    scalars = [
        json.loads(line)
        for line in next((tmp_path / 'work').rglob('scalars.json')).read_text().splitlines()
    ]
    val = [s for s in scalars if 'hip/MRE_mm' in s]
    assert val, 'HipMetric reported no mm figures on a set with a pixel spacing'
    assert {'hip/SDR_1mm', 'hip/SDR_2mm', 'hip/SDR_2.5mm', 'hip/SDR_4mm'} <= set(val[0])
    assert runner is not None


def test_infer_on_a_dicom_folder_writes_spacing_and_mm(
    trained_cascade, dicom_root, film8, tmp_path, capsys
):
    from tools.infer import main as infer_main

    config, _, best = trained_cascade
    films = tmp_path / 'films'
    shutil.copytree(dicom_root / 'test' / 'images', films)
    write_dicom(films / 'no_pixels.dcm', stored12(film8), pixel_data=False)
    write_dicom(
        films / 'mpeg.dcm',
        stored12(film8),
        syntax=MPEG2MPML,
        encapsulated=b'\x00\x00\x01\xb3' + b'\x00' * 60,
    )
    out = tmp_path / 'out'
    code = infer_main(
        [
            str(films),
            '--checkpoint',
            str(best),
            '--config',
            config,
            '--out-dir',
            str(out),
            '--device',
            'cpu',
        ]
    )
    captured = capsys.readouterr()
    assert code == 2  # two inputs failed, the others were measured
    assert 'no_pixels.dcm: DICOM without pixel data' in captured.err
    assert 'mpeg.dcm: DICOM compressed as MPEG2' in captured.err
    assert '4 of 6 films measured' in captured.out
    results = [json.loads(p.read_text()) for p in sorted(out.glob('*.dcm.json'))]
    assert len(results) == 4
    for result in results:
        assert result['pixel_spacing_mm'] == [0.2, 0.1]
        for _hip, offsets in result['h_point_mm'].items():
            if offsets is not None:
                assert set(offsets) == {'lateral_of_p', 'below_h', 'lateral_of_d'}
    rows = list(csv.DictReader(open(out / 'summary.csv')))
    measured = [r for r in rows if not r['error']]
    assert len(measured) == 4 and all(r['spacing_x_mm'] == '0.2' for r in measured)
    every_output = ''.join(
        p.read_text(errors='replace') for p in out.iterdir() if p.suffix in ('.json', '.csv')
    )
    assert PATIENT not in every_output and 'ID-4711' not in every_output


def test_infer_spacing_csv_beside_png_films(trained_cascade, synthetic_root, tmp_path):
    from tools.infer import main as infer_main

    config, _, best = trained_cascade
    films = tmp_path / 'films'
    shutil.copytree(synthetic_root / 'test' / 'images', films)
    names = sorted(p.name for p in films.iterdir())
    (films / 'spacing.csv').write_text('file,spacing_mm\n' + f'{names[0]},0.143\n')
    out = tmp_path / 'out'
    assert (
        infer_main(
            [
                str(films),
                '--checkpoint',
                str(best),
                '--config',
                config,
                '--out-dir',
                str(out),
                '--device',
                'cpu',
                '--no-overlay',
            ]
        )
        == 0
    )
    first = json.loads((out / f'{names[0]}.json').read_text())
    second = json.loads((out / f'{names[1]}.json').read_text())
    assert first['pixel_spacing_mm'] == [0.143, 0.143]
    assert second['pixel_spacing_mm'] is None and second['h_point_mm'] is None
    # the mm distances are the pixel ones times the spacing (isotropic here)
    from hip_mmpose import geometry

    kp = np.array(first['keypoints'])[:, :2]
    px = geometry.h_point_offsets(kp)
    for i, hip in enumerate(geometry.HIP_NAMES):
        if first['h_point_mm'][hip] is not None:
            assert first['h_point_mm'][hip]['below_h'] == pytest.approx(
                px['below_h'][i] * 0.143, abs=0.02
            )


def test_hip_metric_mm_figures_are_pixel_errors_times_spacing():
    """Hand-built: every point off by (3, 4) px; spacing 0.1 mm (x) by 0.2 mm (y)."""
    from hip_mmpose.evaluation.hip_metric import HipMetric

    gt = np.array(
        [
            [100, 200],
            [130, 190],
            [170, 210],
            [120, 260],
            [140, 262],
            [160, 264],
            [330, 210],
            [370, 190],
            [400, 200],
            [380, 264],
            [360, 262],
            [340, 260],
        ],
        float,
    )
    metric = HipMetric(bootstrap=0)
    results = [
        dict(
            img_path=f'/x/P{i}_01.png',
            pred=gt + [3, 4],
            gt=gt,
            scores=np.ones(12),
            hip_side=None,
            spacing=np.array([0.1, 0.2]),
        )
        for i in range(3)
    ]
    out = metric.compute_metrics(results)
    assert out['MRE'] == pytest.approx(5.0)
    assert out['MRE_mm'] == pytest.approx(np.hypot(0.3, 0.8))  # 0.854 mm
    assert out['SDR_1mm'] == 1.0 and out['SDR_2mm'] == 1.0
    assert out['SDR_4px'] == 0.0  # 5 px off
    # one film without a spacing: no mm figures at all (not a mean over some films)
    results[1]['spacing'] = None
    assert 'MRE_mm' not in metric.compute_metrics(results)
