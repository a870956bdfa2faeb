"""HipMetric: landmark error, acetabular index agreement and IHDI grading.

All measures are taken in original film pixels: MMPose's top-down model maps its
predictions back through the inverse of the crop's affine before they reach the
metric, and the ground truth is the annotation as stored.
"""

from __future__ import annotations

import os
import os.path as osp
import re
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from hip_mmpose import geometry
from hip_mmpose.evaluation import stats
from hip_mmpose.utils import records, uncertainty
from hip_mmpose.utils.film_io import FilmReadError, read_film, to_bgr8
from hip_mmpose.utils.hip_crops import merge_hips

#: The prefix of every key HipMetric reports (``hip/AI_MAE``).
METRIC_PREFIX = 'hip'
#: The measures a summary leads with (k-fold table, benchmark scripts), without prefix.
HEADLINE_METRICS = (
    'MRE',
    'AI_MAE',
    'AI_r',
    'AI_ICC',
    'AI_slope',
    'AI_slope_deming',
    'IHDI_bal_acc',
    'IHDI_kappa',
    'IHDI_kappa_linear',
    'IHDI_ge2_sens',
    'IHDI_ge2_spec',
)
# the patient id is the file name up to its first '_' (files are P<patient>_<nn>.jpg)
PATIENT_PATTERN = r'^([^_]+)_'
# measures with a bootstrap confidence interval, logged as <name>_ci_low / _ci_high
CI_METRICS = (
    'AI_MAE',
    'AI_r',
    'AI_ICC',
    'AI_slope',
    'AI_slope_deming',
    'IHDI_bal_acc',
    'IHDI_kappa',
    'IHDI_kappa_linear',
)
CI_SUFFIXES = ('_ci_low', '_ci_high')
#: how precise the clinicians' readings are, from patients with several films
#: (:func:`stats.reference_noise`, :func:`stats.error_free_calls`), each with a bootstrap
#: interval, in two groups reported each whole or not at all: of the AI, and of the
#: H-point's distance lateral of the P-line (in H-line lengths) that decides grade I
#: against grade >= II; ``AI_pairs`` counts the within-patient pairs of hips they rest on
REFERENCE_GROUPS = (
    tuple(f'AI_{key}' for key in stats.REFERENCE_NOISE_KEYS),
    (
        'IHDI_ref_sd',
        'IHDI_model_sd',
        'IHDI_ge2_kappa_error_free',
        'IHDI_ge2_bal_acc_error_free',
        'IHDI_ge2_sens_error_free',
    ),
)
REFERENCE_METRICS = sum(REFERENCE_GROUPS, ())
#: how well the calibrated intervals, probabilities and review flags work
#: (:mod:`hip_mmpose.utils.uncertainty`), where the model carries a calibration; each
#: with a patient-bootstrap interval
UNCERTAINTY_METRICS = (
    'AI_PI_coverage',
    'AI_PI_width',
    'AI_PI_error_ratio',
    'IHDI_ge2_brier',
    'IHDI_ge2_brier_skill',
    'IHDI_ge2_auc',
    'triage_flagged',
    'triage_missed',
)
#: the share of the widest intervals AI_PI_error_ratio sets against the rest
WIDEST_SHARE = 0.2
#: the labels of the confusion matrix's rows and columns: undefined, then I..IV
GRADE_AXIS = (geometry.GRADE_UNDEFINED,) + geometry.GRADES
#: grade II: hips graded it or worse are IHDI_ge2's positive class
GRADE_II = geometry.GRADES[1]


@METRICS.register_module()
class HipMetric(BaseMetric):
    """Landmark, acetabular-index (AI) and IHDI metrics for AP pelvis films.

    Reported keys (with the ``hip/`` prefix):

    - landmarks: ``MRE`` (mean radial error, px), ``MRE_<keypoint name>``,
      ``NME`` (radial error / the film's true H-line length),
      ``SDR_<r>px`` (share of points within r px, for each of ``radii``); where
      every film has a pixel spacing (``pixel_spacing`` in the COCO file, from a
      DICOM header or ``spacing.csv``) also ``MRE_mm`` and ``SDR_<r>mm`` for each
      of ``radii_mm`` (errors in mm: the x and y pixel offsets times the x and y
      spacing);
    - AI (both hips of every film): ``AI_MAE``, ``AI_MAE_left``, ``AI_MAE_right``
      (image-left/right), ``AI_RMSE``, ``AI_bias`` and ``AI_LoA_low/high`` (95 %
      limits of agreement), ``AI_r`` (Pearson), ``AI_ICC`` (ICC(2,1), absolute
      agreement), ``AI_slope`` / ``AI_intercept`` (OLS fit model = a + b *
      clinicians; b < 1: regression toward the mean), ``AI_slope_deming`` /
      ``AI_intercept_deming`` (Deming fit, equal error variances: the clinicians'
      reading has an error too, which biases the OLS slope below 1 even for an
      exact model), ``AI_prop_bias`` (slope of the Bland-Altman difference on the
      mean);
    - IHDI: ``IHDI_acc``, ``IHDI_recall_<grade>`` for each grade present in the
      truth, ``IHDI_bal_acc`` (mean of those recalls), ``IHDI_kappa`` (Cohen),
      ``IHDI_kappa_linear`` (linear-weighted: grades are ordinal; an undefined
      grade is fully apart from any other),
      ``IHDI_ge2_sens`` / ``IHDI_ge2_spec``, ``IHDI_ge2_kappa``, ``IHDI_ge2_bal_acc``
      (grade >= II as the positive class, an undefined grade as not; with grades I
      and II only these equal the grade's kappa and balanced accuracy).
      Most real hips are grade I, so accuracy alone flatters a model that always
      answers I; balanced accuracy, kappa and sensitivity do not;
    - with ``reference_noise=True`` only (an analysis, not a measure of the model:
      :func:`stats.reference_noise` states what it assumes, and where those
      assumptions fail it gives values that cannot be right, e.g. a model error sd
      of 0.00), the reference's own precision, where some patient has two or more
      films (:func:`stats.reference_noise`; the films of a patient are re-read by both the
      clinicians and the model, which separates the clinicians' reading error from
      the model's): ``AI_ref_sd`` (sd of one clinician reading's error, deg),
      ``AI_model_sd`` (the model's, against the hips' actual angle),
      ``AI_model_gain`` (slope of the model on the actual angle: below 1 is
      regression toward the mean that is the model's, not the readers'),
      ``AI_ref_reliability`` (share of the readings' variance that is the hips'),
      ``AI_MAE_error_free`` (the AI MAE an error-free model would measure against these
      readings) and ``AI_pairs`` (within-patient pairs of hips they rest on); the
      same for the H-point's distance lateral of the P-line, which decides grade I
      against >= II, in lengths of the H-line: ``IHDI_ref_sd``, ``IHDI_model_sd``, and
      what an error-free model's grade >= II calls would measure against these
      readings (:func:`stats.error_free_calls`): ``IHDI_ge2_kappa_error_free``,
      ``IHDI_ge2_bal_acc_error_free``, ``IHDI_ge2_sens_error_free``, to compare with
      the model's own ``IHDI_ge2_kappa`` and ``IHDI_ge2_bal_acc``; each group only
      where all of it is defined, its intervals only where both ends are;
    - with ``bootstrap > 0``: ``<key>_ci_low`` / ``<key>_ci_high``, the 95 %
      confidence interval of each key in :data:`CI_METRICS` (AI_MAE, AI_r,
      AI_ICC, AI_slope, AI_slope_deming, IHDI_bal_acc, IHDI_kappa,
      IHDI_kappa_linear) and :data:`REFERENCE_METRICS` by a
      patient-level bootstrap: patients are resampled, each with all its films
      (the reference's figures: always a percentile interval, a resample that
      leaves them undefined counting as beyond either end; an interval only where
      both its ends are defined).

    The confusion matrix goes to the log. With ``dump_name`` set, one evaluation
    record per film (:mod:`hip_mmpose.utils.records`: predicted and true points, AIs,
    grades, errors) is written to ``<out_dir>/<dump_name>_per_film.json`` (with the
    metrics as its summary) and ``.csv``; ``out_dir`` defaults to the current run's
    log folder (``<work_dir>/<timestamp>/``).

    Args:
        radii (Sequence[float]): pixel radii for the success-detection rates.
            Defaults to (2, 4, 6, 10).
        radii_mm (Sequence[float]): millimetre radii of the success-detection
            rates, reported where every film has a spacing. Defaults to
            (1, 2, 2.5, 4).
        dump_name (str, optional): file stem of the per-film dump; None
            disables it. Defaults to None.
        out_dir (str, optional): folder of the dump. Defaults to None (the
            run's log folder).
        bootstrap (int): bootstrap resamples for the confidence intervals; 0
            skips them (for cheap per-epoch validation). Defaults to 1000.
        ci_method (str): ``'percentile'`` or ``'BCa'`` (see
            ``scipy.stats.bootstrap``). Defaults to ``'percentile'``.
        patient_pattern (str): regular expression searched in each file name;
            its first group (or whole match) is the patient id. A film whose
            name does not match is its own patient. Defaults to
            :data:`PATIENT_PATTERN` (the name up to its first ``'_'``).
        seed (int): seed of the bootstrap resampling. Defaults to 0.
        p_line_shift (float, optional): where the predicted grades are decided
            (:func:`geometry.ihdi_grades`): None takes each sample's ``p_line_shift``,
            the model's (0 where it sets none); a number grades every film there, e.g.
            ``test_evaluator.p_line_shift=0`` for the clinical P-line. Defaults to None.
        reference_noise (bool): also estimate the reference's own precision
            (:data:`REFERENCE_METRICS`, from patients with several films;
            ``tools/test.py --reference-noise``). Defaults to False.
        model_sha256 (str, optional): the tested model file's
            ``records.file_sha256``, written into every per-film record
            (``hip_mmpose.apis.test`` sets it). Defaults to None.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to None (``'hip'``).
    """

    default_prefix = METRIC_PREFIX

    def __init__(
        self,
        radii: Sequence[float] = (2, 4, 6, 10),
        radii_mm: Sequence[float] = (1, 2, 2.5, 4),
        dump_name: str | None = None,
        out_dir: str | None = None,
        bootstrap: int = 1000,
        ci_method: str = 'percentile',
        patient_pattern: str = PATIENT_PATTERN,
        seed: int = 0,
        p_line_shift: float | None = None,
        reference_noise: bool = False,
        model_sha256: str | None = None,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.radii = tuple(radii)
        self.radii_mm = tuple(radii_mm)
        self.dump_name = dump_name
        self.out_dir = out_dir
        self.ci_cfg = dict(
            bootstrap=int(bootstrap),
            ci_method=ci_method,
            patient_pattern=patient_pattern,
            seed=seed,
            reference_noise=bool(reference_noise),
        )
        self.p_line_shift = (
            None if p_line_shift is None else geometry.checked_p_line_shift(p_line_shift)
        )
        self.model_sha256 = model_sha256  # the model file's, into every record

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Process one batch of data samples and predictions.

        The processed results are stored in ``self.results``, which are used to
        compute the metrics when all batches have been processed: per sample its
        ``img_path`` (absolute), predicted keypoints ``pred`` ``(K, 2)`` and ``scores``
        ``(K,)``, true keypoints ``gt`` ``(K, 2)`` (film or crop-frame pixels, K = 12,
        or 6 with ``hip_side`` for the refining stage), ``spacing`` (mm per pixel or
        None), ``image_size`` ``(width, height)`` and, for a per-hip sample, the
        film's ``width`` (to un-mirror the image-right hip), and the grade's
        ``p_line_shift`` (:func:`geometry.ihdi_grades`) the model sets (0 where it sets
        none), unless this metric names one.

        Args:
            data_batch (Any): A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): A batch of outputs from the model, each
                with ``pred_instances`` and ``gt_instances``.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            k = np.asarray(pred['keypoints']).shape[-2]
            self.results.append(
                dict(
                    img_path=osp.abspath(sample['img_path']) if sample.get('img_path') else '',
                    pred=np.asarray(pred['keypoints'], np.float64)[0],
                    scores=np.asarray(pred.get('keypoint_scores', np.ones((1, k))))[0],
                    gt=np.asarray(sample['gt_instances']['keypoints'], np.float64)[0],
                    hip_side=sample.get('hip_side'),
                    spacing=_spacing(sample.get('pixel_spacing')),
                    image_size=(
                        tuple(int(v) for v in sample['ori_shape'][::-1])
                        if sample.get('ori_shape') is not None
                        else None
                    ),
                    width=sample['ori_shape'][1] if 'hip_side' in sample else None,
                    p_line_shift=(
                        float(sample.get('p_line_shift', 0.0))
                        if self.p_line_shift is None
                        else self.p_line_shift
                    ),
                    spread=(
                        np.asarray(pred['keypoint_spread'], np.float64)[0]
                        if 'keypoint_spread' in pred
                        else None
                    ),
                    uncertainty=sample.get('uncertainty'),
                )
            )

    # ------------------------------------------------------------------ metrics
    def compute_metrics(self, results: list) -> dict:
        """Compute the metrics from processed results.

        Per-hip results are joined into films first (:func:`join_hips`). Logs the IHDI
        confusion matrix and, with ``dump_name``, writes the per-film JSON and CSV
        (:func:`write_per_film`) to ``out_dir`` (else the Runner's log folder).

        Args:
            results (list): The processed results of each batch (:meth:`process`).

        Returns:
            dict: The computed metrics, the scalar ones of :func:`summarise` (point
            errors in px/mm, AI agreement in degrees, IHDI accuracy, confidence
            interval bounds); MMEngine prefixes the keys with ``hip/``.
        """
        results = join_hips(results)
        pred = np.stack([r['pred'] for r in results])
        gt = np.stack([r['gt'] for r in results])
        spacings = [r.get('spacing') for r in results]
        shifts = np.array([r.get('p_line_shift', 0.0) for r in results])
        calibration = next(
            (r['uncertainty'] for r in results if r.get('uncertainty') is not None), None
        )
        calibration = uncertainty.checked_calibration(calibration) if calibration else {}
        spreads = [r.get('spread') for r in results]
        for r in results:
            r['calibration'] = calibration
            if r.get('spread') is not None:  # a refining stage's points
                r['edges'] = film_roof_edges(r['img_path'], r['pred'])
        unc = None
        if calibration and all(v is not None for v in spreads):
            edges = np.stack([r['edges'] for r in results])
            doubts = [
                records.record_doubts(r['pred'], r['scores'], r.get('image_size')) for r in results
            ]
            unc = uncertainty.measure(pred, np.stack(spreads), calibration, shifts, edges, doubts)
            unc['ai_threshold'] = calibration['ai_threshold']
        per_film = hip_measures(
            pred,
            gt,
            None if any(v is None for v in spacings) else np.stack(spacings),
            shifts,
            unc,
        )
        metrics = summarise(
            per_film,
            self.radii,
            self._keypoint_names(pred.shape[1]),
            files=[r['img_path'] for r in results],
            radii_mm=self.radii_mm,
            **self.ci_cfg,
        )
        logger = MMLogger.get_current_instance()
        logger.info(
            'IHDI confusion matrix (rows: truth, columns: prediction, all hips)\n'
            + format_confusion(per_film['confusion']),
            extra=dict(console=False),  # the log file's (apis.runner.ConsoleFilter)
        )
        if self.dump_name:
            folder = self.out_dir or _run_log_dir()
            paths = write_per_film(
                folder,
                self.dump_name,
                results,
                metrics,
                self._keypoint_names(pred.shape[1]),
                self.model_sha256,
            )
            logger.info(f'per-film results written to {paths[0]} and {paths[1]}')
        return {k: v for k, v in metrics.items() if np.isscalar(v)}

    def _keypoint_names(self, k: int) -> list[str]:
        names = (self.dataset_meta or {}).get('keypoint_id2name')
        if not names or len(names) != k:  # the refining stage's 6-point set: film names
            return film_keypoint_names()
        return [names[i] for i in range(k)]


def film_keypoint_names() -> list[str]:
    """The 12 film keypoints' names, in order (the data set's metainfo)."""
    from hip_mmpose.datasets.hip_xray_dataset import film_metainfo

    names = film_metainfo()['keypoint_id2name']
    return [names[i] for i in range(len(names))]


def join_hips(results: list) -> list:
    """Per-film results from per-hip ones (the refining stage's samples).

    A per-hip result (``hip_side`` set) holds one hip's six points in the frame
    its crop was taken from (the image-right hip mirrored); the two hips of a film
    are joined into its 12 film points. Per-film results pass through unchanged.

    Args:
        results (list[dict]): :meth:`HipMetric.process`'s results.

    Returns:
        list[dict]: one result per film (``img_path``, ``pred`` and ``gt`` ``(12, 2)``
        in film pixels, ``scores`` ``(12,)``, ``spacing``, ``image_size``,
        ``p_line_shift``).

    Raises:
        ValueError: a film has only one of its hips among the results.
    """
    if all(r.get('hip_side') is None for r in results):
        return results
    films: dict = {}
    for r in results:
        films.setdefault(r['img_path'], [None, None])[r['hip_side']] = r
    joined = []
    for path, hips in films.items():
        if any(h is None for h in hips):
            raise ValueError(
                f'{path}: only one hip was evaluated; the refining stage '
                'needs both hips of every film'
            )
        width = hips[0]['width']
        scores, spread = np.empty(12), np.full(12, np.nan)
        for h, index in zip(hips, geometry.HIP_KEYPOINTS):
            scores[list(index)] = h['scores']
            if h.get('spread') is not None:
                spread[list(index)] = h['spread']
        joined.append(
            dict(
                img_path=path,
                pred=merge_hips([h['pred'] for h in hips], width),
                gt=merge_hips([h['gt'] for h in hips], width),
                scores=scores,
                spacing=hips[0].get('spacing'),
                image_size=hips[0].get('image_size'),
                p_line_shift=hips[0].get('p_line_shift', 0.0),
                spread=None if np.isnan(spread).all() else spread,
                uncertainty=hips[0].get('uncertainty'),
            )
        )
    return joined


def film_roof_edges(img_path: str, points) -> np.ndarray:
    """The hips' roof edges (:func:`uncertainty.roof_edges`) on the film as the
    network saw it (:func:`film_io.read_film`, 8-bit as in training); NaN where the
    film cannot be read again.

    Args:
        img_path (str): the film's file.
        points (np.ndarray): ``(12, 2)`` the predicted points, film pixels.

    Returns:
        np.ndarray: ``(2,)`` [image-left, image-right].
    """
    try:
        film = to_bgr8(read_film(img_path).image, copy=False)
    except (FilmReadError, OSError, ValueError) as err:
        MMLogger.get_current_instance().warning(f'{img_path}: no roof edge ({err})')
        return np.full(len(geometry.HIP_NAMES), np.nan)
    return uncertainty.roof_edges(film, points)


def _spacing(value):
    """A sample's ``pixel_spacing`` as a float64 ``(2,)`` array, or None."""
    if value is None:
        return None
    value = np.asarray(value, np.float64).reshape(-1)
    return value if value.shape == (2,) and np.isfinite(value).all() else None


def hip_measures(
    pred: np.ndarray,
    gt: np.ndarray,
    spacing: np.ndarray | None = None,
    p_line_shift=0.0,
    uncertain: dict | None = None,
) -> dict:
    """Per-film measures of predicted and true points ``(N, 12, 2)``.

    Args:
        pred (np.ndarray): predicted points, film pixels.
        gt (np.ndarray): true points, film pixels.
        spacing (np.ndarray, optional): ``(N, 2)`` mm per pixel (x, y) of every
            film; adds ``errors_mm`` and ``spacing``. Defaults to None.
        p_line_shift (float | np.ndarray): the predicted grades' P-line shift, one
            or ``(N,)`` (:func:`geometry.ihdi_grades`; the true grades use none).
            Defaults to 0.0.
        uncertain (dict, optional): the predictions' ``ai_low``, ``ai_high``,
            ``p_ge2`` and ``review`` ``(N, 2)`` (:func:`uncertainty.measure`); kept
            for :data:`UNCERTAINTY_METRICS`. Defaults to None.

    Returns:
        dict: ``errors`` (px, ``(N, 12)``), ``h_line``, ``ai_pred``, ``ai_true``,
        ``p_lateral_pred``, ``p_lateral_true`` (each H-point's distance lateral of its
        clinical P-line, in lengths of the film's true H-line, ``(N, 2)``),
        ``grade_pred``, ``grade_true``, ``confusion`` and, with ``spacing``,
        ``errors_mm``.
    """
    errors = geometry.radial_errors(pred, gt)  # (N, 12)
    ai_pred, ai_true = geometry.acetabular_indices(pred), geometry.acetabular_indices(gt)
    grade_pred = geometry.ihdi_grades(pred, p_line_shift)
    grade_true = geometry.ihdi_grades(gt)
    h_len = geometry.h_line_lengths(gt)
    with np.errstate(invalid='ignore', divide='ignore'):  # lateral of the P-line, H-lines
        p_lateral_pred, p_lateral_true = (
            geometry.h_point_offsets(p)['lateral_of_p'] / h_len[:, None] for p in (pred, gt)
        )
    out = dict(
        errors=errors,
        h_line=h_len,
        ai_pred=ai_pred,
        ai_true=ai_true,
        p_lateral_pred=p_lateral_pred,
        p_lateral_true=p_lateral_true,
        grade_pred=grade_pred,
        grade_true=grade_true,
        confusion=stats.confusion_matrix(grade_true, grade_pred, GRADE_AXIS),
    )
    if uncertain is not None:
        out.update({k: np.asarray(uncertain[k]) for k in ('ai_low', 'ai_high', 'p_ge2', 'review')})
        out['ai_threshold'] = float(uncertain.get('ai_threshold', uncertainty.DEFAULT_AI_THRESHOLD))
    if spacing is not None:
        spacing = np.asarray(spacing, np.float64)
        out['spacing'] = spacing
        out['errors_mm'] = geometry.radial_errors(pred, gt, spacing)
    return out


def patient_ids(files: Sequence[str], pattern: str = PATIENT_PATTERN) -> list[str]:
    """The patient of each film, from its file name.

    Args:
        files (Sequence[str]): film paths or names (only the base name is read).
        pattern (str): regular expression searched in the base name; its first
            group (or the whole match, without groups) is the patient id.
            Defaults to :data:`PATIENT_PATTERN`.

    Returns:
        list[str]: one id per film; a film whose name does not match is its own
        patient (an id no matching name can take).
    """
    regex = re.compile(pattern)
    ids = []
    for i, path in enumerate(files):
        match = regex.search(osp.basename(str(path)))
        if match is None:
            ids.append(f'\0film {i}')
        else:
            ids.append(match.group(1) if regex.groups else match.group(0))
    return ids


def _linear_grade_weights() -> np.ndarray:
    """Disagreement weights over labels (undefined, I..IV): linear between grades,
    full (1) between an undefined grade and any defined one."""
    weights = np.ones((len(GRADE_AXIS),) * 2)
    weights[0, 0] = 0
    weights[1:, 1:] = stats.linear_weights(len(geometry.GRADES))
    return weights


def _resampled_measures(m: dict, film_weights: np.ndarray) -> np.ndarray:
    """The :data:`CI_METRICS`, ``(len(CI_METRICS), B)``, for film frequency weights
    ``(B, N)``: all ones gives the plain estimates, a bootstrap draw its resample."""
    hip_weights = np.repeat(film_weights, len(geometry.HIP_NAMES), axis=-1)  # each film's hips
    pred, true = m['ai_pred'].ravel(), m['ai_true'].ravel()
    cm = stats.confusion_matrix(m['grade_true'], m['grade_pred'], GRADE_AXIS, weights=hip_weights)
    recalls = stats.per_class_recall(cm)[..., 1:]  # an undefined prediction is a miss
    with np.errstate(invalid='ignore'), warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # no grade present: NaN
        bal_acc = np.nanmean(recalls, -1)
    values = dict(
        AI_MAE=stats.mean_absolute_error(pred, true, hip_weights),
        AI_r=stats.pearson_r(pred, true, hip_weights),
        AI_ICC=stats.icc_absolute_agreement(pred, true, hip_weights),
        AI_slope=stats.linear_fit(true, pred, hip_weights)[1],
        AI_slope_deming=stats.deming_fit(true, pred, hip_weights)[1],
        IHDI_bal_acc=bal_acc,
        IHDI_kappa=stats.cohen_kappa(cm),
        IHDI_kappa_linear=stats.weighted_kappa(cm, _linear_grade_weights()),
    )
    return np.stack([values[name] for name in CI_METRICS])


def _reference_measures(m: dict, patients, film_weights=None) -> dict:
    """The :data:`REFERENCE_METRICS` of :func:`hip_measures`' output: floats, or
    arrays ``(B,)`` for film frequency weights ``(B, N)``; NaN where undefined; and
    ``AI_pairs``."""
    ai = stats.reference_noise(m['ai_true'], m['ai_pred'], patients, film_weights)
    args = (m['p_lateral_true'], m['p_lateral_pred'], patients, film_weights)
    lateral = stats.reference_noise(*args)
    calls = stats.error_free_calls(*args, noise=lateral)
    values = {f'AI_{k}': ai[k] for k in stats.REFERENCE_NOISE_KEYS}
    values['AI_pairs'] = ai['pairs']
    values.update(
        IHDI_ref_sd=lateral['ref_sd'],
        IHDI_model_sd=lateral['model_sd'],
        IHDI_ge2_kappa_error_free=calls['kappa_error_free'],
        IHDI_ge2_bal_acc_error_free=calls['bal_acc_error_free'],
        IHDI_ge2_sens_error_free=calls['sens_error_free'],
    )
    return values


def _uncertainty_measures(m: dict, film_weights: np.ndarray) -> np.ndarray:
    """The :data:`UNCERTAINTY_METRICS`, ``(len, B)``, for film frequency weights
    ``(B, N)`` (all ones: the plain estimates); NaN where undefined."""
    w = np.repeat(film_weights, len(geometry.HIP_NAMES), axis=-1)  # each film's hips
    true, pred = m['ai_true'].ravel(), m['ai_pred'].ravel()
    low, high = m['ai_low'].ravel(), m['ai_high'].ravel()
    ok = np.isfinite(true) & np.isfinite(low) & np.isfinite(high) & np.isfinite(pred)
    covered = np.where(ok, (low <= true) & (true <= high), np.nan)
    width = np.where(ok, high - low, np.nan)
    err = np.where(ok, np.abs(pred - true), np.nan)
    widest = ok & (width >= np.nanquantile(width, 1 - WIDEST_SHARE)) if ok.any() else ok
    with np.errstate(invalid='ignore', divide='ignore'):
        ratio = stats.weighted_mean(np.where(widest, err, np.nan), w) / stats.weighted_mean(
            np.where(ok & ~widest, err, np.nan), w
        )
    positive = m['grade_true'].ravel() >= GRADE_II
    p = m['p_ge2'].ravel().astype(float)
    brier = stats.weighted_mean((p - positive) ** 2, w)
    prevalence = stats.weighted_mean(np.where(np.isfinite(p), positive, np.nan), w)
    with np.errstate(invalid='ignore', divide='ignore'):
        skill = 1 - brier / (prevalence * (1 - prevalence))
    abnormal = (true > m['ai_threshold']) | positive
    called_normal = (pred <= m['ai_threshold']) & (m['grade_pred'].ravel() == geometry.GRADES[0])
    flagged = m['review'].ravel().astype(bool)
    missed = np.where(abnormal, called_normal & ~flagged, np.nan)
    values = dict(
        AI_PI_coverage=stats.weighted_mean(covered, w),
        AI_PI_width=stats.weighted_mean(width, w),
        AI_PI_error_ratio=ratio,
        IHDI_ge2_brier=brier,
        IHDI_ge2_brier_skill=skill,
        IHDI_ge2_auc=stats.auc(p, positive, w),
        triage_flagged=stats.weighted_mean(flagged.astype(float), w),
        triage_missed=stats.weighted_mean(missed, w),
    )
    return np.stack([np.atleast_1d(values[name]) for name in UNCERTAINTY_METRICS])


def summarise(
    m: dict,
    radii=(2, 4, 6, 10),
    keypoint_names=None,
    files=None,
    bootstrap: int = 0,
    ci_method: str = 'percentile',
    patient_pattern: str = PATIENT_PATTERN,
    seed: int = 0,
    radii_mm=(1, 2, 2.5, 4),
    reference_noise: bool = False,
) -> dict:
    """The metric dict from :func:`hip_measures`; non-scalar extras included.

    Args:
        m (dict): per-film measures from :func:`hip_measures`.
        radii (Sequence[float]): success-detection radii (px). Defaults to
            (2, 4, 6, 10).
        keypoint_names (list[str], optional): names for ``MRE_<name>``.
            Defaults to None (``kp01`` ...).
        files (Sequence[str], optional): the film files, in ``m``'s order, for
            the patient ids of the bootstrap. Defaults to None (every film its
            own patient, i.e. films resampled).
        bootstrap (int): bootstrap resamples; 0 skips the confidence
            intervals. Defaults to 0.
        ci_method (str): ``'percentile'`` or ``'BCa'``. Defaults to
            ``'percentile'``.
        patient_pattern (str): see :func:`patient_ids`. Defaults to
            :data:`PATIENT_PATTERN`.
        seed (int): bootstrap seed. Defaults to 0.
        radii_mm (Sequence[float]): success-detection radii (mm), used when
            ``m`` has ``errors_mm``. Defaults to (1, 2, 2.5, 4).
        reference_noise (bool): add the reference's precision
            (:data:`REFERENCE_METRICS`, an opt-in analysis). Defaults to False.

    Returns:
        dict: the scalar metrics (see :class:`HipMetric`), ``confusion`` (list)
        and, with ``bootstrap``, ``bootstrap`` (dict: resamples, method,
        patients, films).
    """
    errors = m['errors']
    names = keypoint_names or [f'kp{i + 1:02d}' for i in range(errors.shape[1])]
    out = dict(MRE=float(errors.mean()))
    out.update({f'MRE_{name}': float(e) for name, e in zip(names, errors.mean(0))})
    with np.errstate(invalid='ignore', divide='ignore'):
        out['NME'] = float(np.nanmean(errors / m['h_line'][:, None]))
    out.update({f'SDR_{r:g}px': float((errors <= r).mean()) for r in radii})
    if 'errors_mm' in m:
        out['MRE_mm'] = float(m['errors_mm'].mean())
        out.update({f'SDR_{r:g}mm': float((m['errors_mm'] <= r).mean()) for r in radii_mm})

    measures = dict(zip(CI_METRICS, _resampled_measures(m, np.ones((1, len(errors))))[:, 0]))
    ai_err = m['ai_pred'] - m['ai_true']
    abs_err = np.abs(ai_err)
    out['AI_MAE'] = float(measures['AI_MAE'])
    out['AI_MAE_left'] = float(np.nanmean(abs_err[:, 0]))
    out['AI_MAE_right'] = float(np.nanmean(abs_err[:, 1]))
    out['AI_RMSE'] = float(np.sqrt(np.nanmean(ai_err**2)))
    agreement = stats.bland_altman(m['ai_pred'], m['ai_true'])
    out['AI_bias'], out['AI_LoA_low'], out['AI_LoA_high'] = (
        agreement['bias'],
        agreement['loa_low'],
        agreement['loa_high'],
    )
    out['AI_r'] = float(measures['AI_r'])
    out['AI_ICC'] = float(measures['AI_ICC'])
    out['AI_slope'] = float(measures['AI_slope'])
    out['AI_intercept'] = stats.linear_fit(m['ai_true'], m['ai_pred'])[0]
    out['AI_slope_deming'] = float(measures['AI_slope_deming'])
    out['AI_intercept_deming'] = stats.deming_fit(m['ai_true'], m['ai_pred'])[0]
    out['AI_prop_bias'] = stats.proportional_bias(m['ai_pred'], m['ai_true'])[1]

    cm = m['confusion']  # labels 0 (undefined), I..IV
    graded = cm[1:, :]  # truths with a defined grade; undefined predictions count as wrong
    total = graded.sum()
    out['IHDI_acc'] = float(np.trace(cm[1:, 1:]) / total) if total else float('nan')
    recalls = stats.per_class_recall(cm)[1:]  # an undefined prediction is a miss
    for grade, recall in zip(geometry.GRADES, recalls):
        if np.isfinite(recall):
            out[f'IHDI_recall_{geometry.GRADE_NAMES[grade]}'] = float(recall)
    for key in ('IHDI_bal_acc', 'IHDI_kappa', 'IHDI_kappa_linear'):
        out[key] = float(measures[key])
    out['IHDI_ge2_sens'], out['IHDI_ge2_spec'] = stats.binary_sens_spec(
        m['grade_true'] >= GRADE_II, m['grade_pred'] >= GRADE_II
    )
    out['IHDI_ge2_bal_acc'] = (out['IHDI_ge2_sens'] + out['IHDI_ge2_spec']) / 2
    out['IHDI_ge2_kappa'] = float(
        stats.cohen_kappa(
            stats.confusion_matrix(
                m['grade_true'] >= GRADE_II, m['grade_pred'] >= GRADE_II, (False, True)
            )
        )
    )

    patients = (
        patient_ids(files, patient_pattern)
        if files is not None
        else [f'film {i}' for i in range(len(errors))]
    )
    # on request, where some patient has two films and they separate the readers' errors
    values = _reference_measures(m, patients) if reference_noise else {}
    names = [
        k
        for group in REFERENCE_GROUPS
        if values and np.isfinite([values[k] for k in group]).all()
        for k in group
    ]
    out.update({k: float(values[k]) for k in names})
    if REFERENCE_GROUPS[0][0] in names:  # the AI's group: the pairs it rests on
        out['AI_pairs'] = values['AI_pairs']
    if 'p_ge2' in m:
        plain = _uncertainty_measures(m, np.ones((1, len(errors))))[:, 0]
        out.update({k: float(v) for k, v in zip(UNCERTAINTY_METRICS, plain) if np.isfinite(v)})
    if bootstrap > 0:
        options = dict(n_resamples=bootstrap, method=ci_method, seed=seed)
        low, high = stats.group_bootstrap_ci(
            lambda w: _resampled_measures(m, w), patients, **options
        )
        for name, lo, hi in zip(CI_METRICS, low, high):
            out[name + CI_SUFFIXES[0]], out[name + CI_SUFFIXES[1]] = float(lo), float(hi)

        def reference_rows(w):
            values = _reference_measures(m, patients, w)
            return np.stack([values[k] for k in names])

        if 'p_ge2' in m:  # a draw without a grade-II hip leaves the AUC undefined
            low, high = stats.group_bootstrap_ci(
                lambda w: _uncertainty_measures(m, w),
                patients,
                **dict(options, method='percentile'),
                undefined_as_extreme=True,
            )
            for name, lo, hi in zip(UNCERTAINTY_METRICS, low, high):
                if name in out and np.isfinite(lo) and np.isfinite(hi):
                    out[name + CI_SUFFIXES[0]], out[name + CI_SUFFIXES[1]] = float(lo), float(hi)
        if names:  # a draw of few patients can leave them undefined: the widest reading
            low, high = stats.group_bootstrap_ci(
                reference_rows,
                patients,
                **dict(options, method='percentile'),
                undefined_as_extreme=True,
            )
            for name, lo, hi in zip(names, low, high):
                if np.isfinite(lo) and np.isfinite(hi):
                    out[name + CI_SUFFIXES[0]], out[name + CI_SUFFIXES[1]] = float(lo), float(hi)
        out['bootstrap'] = dict(
            resamples=int(bootstrap),
            method=ci_method,
            seed=seed,
            patients=len(set(patients)),
            films=len(errors),
        )
    out['confusion'] = cm.tolist()
    return out


def summarise_records(films: Sequence[dict], **options) -> dict:
    """The metrics of evaluation records, as :class:`HipMetric` computes them.

    The records are those of HipMetric's per-film JSON (:func:`write_per_film`, read
    back by :func:`records.read_json`), possibly from several runs (the test parts of
    a k-fold, pooled): each film is graded at the P-line shift its record names, the
    millimetre measures are added where every film has a pixel spacing, and the
    bootstrap resamples patients by file name. The points are the records' (rounded
    to 0.01 px), so the figures can differ from the runs' own in the fourth digit.

    Args:
        films (Sequence[dict]): evaluation records (with ``true_keypoints``).
        **options: passed to :func:`summarise` (``bootstrap``, ``ci_method``,
            ``patient_pattern``, ``seed``, ``radii``, ``radii_mm``).

    Returns:
        dict: :func:`summarise`'s metrics, ``MRE_<name>`` named by the film
        keypoints.

    Raises:
        records.RecordError: no records, one without ground truth, or a film twice
            (by its ``img_path``, else its file name).
    """
    films = list(films)
    if not films or not all(records.is_evaluation(f) for f in films):
        raise records.RecordError(
            'metrics need evaluation records (with ground truth, '
            f'as tools/test.py writes them); got {len(films)} films, '
            f'{sum(map(records.is_evaluation, films))} with truth'
        )
    names = [f.get('img_path') or f['file'] for f in films]
    twice = sorted(n for n, count in Counter(names).items() if count > 1)
    if twice:
        raise records.RecordError(
            f'{len(twice)} films appear more than once, e.g. '
            f'{twice[0]!r}: each film must be measured once'
        )
    d = records.as_arrays(films)
    spacings = [f.get('pixel_spacing_mm') for f in films]
    m = hip_measures(
        d['keypoints'],
        d['true_keypoints'],
        None if any(s is None for s in spacings) else np.array(spacings, float),
        np.array([f.get('ihdi_p_line_shift') or 0.0 for f in films], float),
        _recorded_uncertainty(films),
    )
    return summarise(m, keypoint_names=film_keypoint_names(), files=names, **options)


def _recorded_uncertainty(films: Sequence[dict]) -> dict | None:
    """The intervals, probabilities and review flags the records hold (None where
    any film has none: a model without calibration)."""
    hips = geometry.HIP_NAMES
    if not all(any(v is not None for v in (f.get('p_ihdi_ge2') or {}).values()) for f in films):
        return None

    def per_hip(key, pick):
        return np.array(
            [[pick((f.get(key) or {}).get(hip)) for hip in hips] for f in films], np.float64
        )

    nan = float('nan')
    thresholds = {f.get('ai_threshold_deg') for f in films} - {None}
    return dict(
        ai_low=per_hip('acetabular_index_interval', lambda v: v[0] if v else nan),
        ai_high=per_hip('acetabular_index_interval', lambda v: v[1] if v else nan),
        p_ge2=per_hip('p_ihdi_ge2', lambda v: nan if v is None else v),
        review=per_hip('review', lambda v: bool(v and v['flag'])).astype(bool),
        ai_threshold=thresholds.pop() if len(thresholds) == 1 else uncertainty.DEFAULT_AI_THRESHOLD,
    )


def describe_reference_noise(metrics: dict, prefix: str = '') -> str | None:
    """One sentence on how precise the clinicians' readings are (the AI, and the
    H-point's distance lateral of the P-line that decides the grade), from a summary.

    Args:
        metrics (dict): :func:`summarise`'s metrics (with or without intervals).
        prefix (str): the keys' prefix, e.g. ``'hip/'`` for a Runner's metrics.
            Defaults to ``''``.

    Returns:
        str | None: the sentence; None where the summary has none of
        :data:`REFERENCE_METRICS` (no patient with two films).
    """

    def shown(name, digits=2):
        value = metrics[prefix + name]
        low, high = (metrics.get(prefix + name + suffix) for suffix in CI_SUFFIXES)
        text = f'{value:.{digits}f}'
        if low is not None and high is not None and np.isfinite([low, high]).all():
            text += f' [{low:.{digits}f}, {high:.{digits}f}]'
        return text

    def has(group):
        return all(prefix + name in metrics for name in group)

    parts = []
    if has(REFERENCE_GROUPS[0]):
        reliability = metrics[prefix + 'AI_ref_reliability']
        parts.append(
            f'one clinician reading of the AI errs by sd {shown("AI_ref_sd")} deg, '
            f'the model by {shown("AI_model_sd")} (gain {shown("AI_model_gain")}); '
            f'an error-free model would measure AI MAE {shown("AI_MAE_error_free")}, '
            f'r {np.sqrt(reliability):.2f} and OLS slope {reliability:.2f}'
        )
    if has(REFERENCE_GROUPS[1]):
        parts.append(
            "of the H-point's distance lateral of the P-line, by sd "
            f'{shown("IHDI_ref_sd", 3)} of the H-line, the model by '
            f"{shown('IHDI_model_sd', 3)}; an error-free model's grade >= II calls "
            f'would measure kappa {shown("IHDI_ge2_kappa_error_free")}, balanced '
            f'accuracy {shown("IHDI_ge2_bal_acc_error_free")} and sensitivity '
            f'{shown("IHDI_ge2_sens_error_free")}'
        )
    if not parts:
        return None
    pairs = metrics.get(prefix + 'AI_pairs')
    source = (
        f"from {pairs} pairs of one patient's hips on two films"
        if pairs
        else "from patients' hips on two films"
    )
    return f'reference ({source}): ' + '; '.join(parts) + ', against these readings'


def format_confusion(cm) -> str:
    """The IHDI confusion matrix as a text table for the log.

    Args:
        cm (array-like): ``(5, 5)`` int counts, rows the truth and columns the
            prediction, grades in :data:`GRADE_AXIS` order (undefined, I-IV).

    Returns:
        str: the table, one line per true grade under a header of predicted grades.
    """
    labels = [geometry.GRADE_NAMES[g][:5] for g in GRADE_AXIS]
    cm = np.asarray(cm)
    lines = ['true\\pred ' + ''.join(f'{label:>7}' for label in labels)]
    for label, row in zip(labels, cm):
        lines.append(f'{label:>9} ' + ''.join(f'{v:>7d}' for v in row))
    return '\n'.join(lines)


def _run_log_dir() -> str:
    """The current Runner's log folder (where MMEngine writes its .log file)."""
    logger = MMLogger.get_current_instance()
    log_file = getattr(logger, 'log_file', None)
    return osp.dirname(log_file) if log_file else os.getcwd()


def write_per_film(
    folder, name, results, metrics, keypoint_names=None, model_sha256=None
) -> tuple[str, str]:
    """One evaluation record per film (:func:`records.film_record`), as JSON (with
    the metrics as its summary) and CSV, each written whole.

    Args:
        folder (str): where to write.
        name (str): the file stem (``<name>_per_film.json``).
        results (list[dict]): per-film results (``img_path``, ``pred``, ``gt``,
            ``scores``, ``spacing``, ``image_size``, ``p_line_shift``).
        metrics (dict): the summary.
        keypoint_names (list[str], optional): the 12 names, for the flags.
        model_sha256 (str, optional): the model file's ``records.file_sha256``, into
            every record. Defaults to None.

    Returns:
        tuple[str, str]: the JSON and CSV paths.
    """
    films = [
        records.film_record(
            r['pred'],
            r['scores'],
            file=osp.basename(r['img_path']),
            image_size=r.get('image_size'),
            pixel_spacing=r.get('spacing'),
            keypoint_names=keypoint_names,
            truth=r['gt'],
            img_path=r['img_path'],
            p_line_shift=r.get('p_line_shift', 0.0),
            spreads=r.get('spread'),
            edges=r.get('edges'),
            uncertainty=r.get('calibration'),
            model_sha256=model_sha256,
        )
        for r in results
    ]
    return records.write_per_film(folder, name, films, metrics)
