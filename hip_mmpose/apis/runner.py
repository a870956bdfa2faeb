"""``HipRunner``: MMEngine's Runner with a quiet console and a warm-up fitted to the run.

:func:`hip_mmpose.apis.train` / :func:`~hip_mmpose.apis.test` and the cascade build
every Runner as this one; with MMPose's own ``tools/train.py`` a config asks for it
with ``runner_type = 'HipRunner'`` (registered in MMPose's ``RUNNERS``).
"""

from __future__ import annotations

import logging
import os.path as osp
import re

from mmengine.logging.logger import MMFormatter
from mmengine.runner import Runner
from mmpose.registry import RUNNERS

from hip_mmpose.apis.run_config import WARMUP_MAX_SHARE, fit_warmup
from hip_mmpose.evaluation.hip_metric import HEADLINE_METRICS, UNCERTAINTY_METRICS

#: The level of the console while the Runner is built: what it logs then (the
#: system environment, the whole config, the hooks' order: ~500 lines a Runner) goes
#: to its log file only; warnings and errors still reach the console.
BUILD_CONSOLE_LEVEL = logging.WARNING
#: The metrics a validation or test line shows on the console (the log file has all).
CONSOLE_METRICS = HEADLINE_METRICS + UNCERTAINTY_METRICS
_METRIC_LINE = re.compile(r'^Epoch\((val|test)\)')


def headline_message(message: str) -> str:
    """A validation or test line of MMEngine's ``LoggerHook`` cut to
    :data:`CONSOLE_METRICS`; any other message as it is.

    Args:
        message (str): the logged message, e.g. ``'Epoch(val) [1][4/4]    hip/MRE:
            4.1  hip/MRE_image_left_roof_lateral: 3.9  ...  time: 0.5'``.

    Returns:
        str: the message with only the headline metrics (``hip/MRE``,
        ``hip/AI_MAE``, ...) after its ``Epoch(...)`` prefix.
    """
    if not _METRIC_LINE.match(message):
        return message
    head, *items = re.split(r'\s{2,}', message.strip())
    keep = [
        item
        for item in items
        if item.split(':', 1)[0].rsplit('/', 1)[-1] in CONSOLE_METRICS and '/' in item.split(':')[0]
    ]
    return '  '.join([head, *keep]) + ('  (every metric: the log file)' if keep else '')


class ConsoleFormatter(MMFormatter):
    """MMEngine's console formatter, validation and test lines cut to the headline
    (:func:`headline_message`); the record itself (and so the log file) is unchanged.

    Args:
        **kwargs: :class:`mmengine.logging.logger.MMFormatter`'s.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format a record for the console.

        Args:
            record (logging.LogRecord): the record.

        Returns:
            str: the formatted line(s).
        """
        message = record.getMessage()
        short = headline_message(message)
        if short != message:
            record = logging.makeLogRecord(dict(vars(record), msg=short, args=()))
        return super().format(record)


class ConsoleFilter(logging.Filter):
    """Keeps records logged with ``extra=dict(console=False)`` (e.g. HipMetric's
    confusion matrix) off the console; the log file still gets them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the console shows ``record``.

        Args:
            record (logging.LogRecord): the record.

        Returns:
            bool: False for a record marked ``console=False``.
        """
        return getattr(record, 'console', True)


def console_handlers(logger: logging.Logger) -> list:
    """The handlers of ``logger`` that write to a terminal (not to a file).

    Args:
        logger (logging.Logger): e.g. a Runner's ``MMLogger``.

    Returns:
        list[logging.StreamHandler]: its stream handlers that are not file handlers.
    """
    return [
        h
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


@RUNNERS.register_module()
class HipRunner(Runner):
    """MMEngine's ``Runner`` with two changes, everything else as MMEngine runs it.

    - **Console**: while the Runner is being built its console handler is at
      :data:`BUILD_CONSOLE_LEVEL`, so the system environment, the whole config and
      the hooks' order it logs at INFO go to ``<work_dir>/<timestamp>/<timestamp>.log``
      only (and the config to ``<work_dir>/<config name>.py``); afterwards the
      console is back at the Runner's ``log_level`` for the run itself: progress,
      checkpoints and each validation's or test's headline metrics
      (:class:`ConsoleFormatter`; records marked ``console=False``, such as the
      confusion matrix, stay in the log file: :class:`ConsoleFilter`).
    - **Warm-up**: an iteration-based scheduler from the run's start that would
      outlast :data:`~hip_mmpose.apis.run_config.WARMUP_MAX_SHARE` of the run's
      iterations is shortened to it (:func:`~hip_mmpose.apis.run_config.fit_warmup`)
      when the schedulers are built, i.e. once the number of iterations is known;
      the log says so.
    - **One folder per Runner**: MMEngine names a Runner's log folder
      ``<work_dir>/<timestamp>`` to the second, so two Runners of one work dir
      started in the same second (a second refining pass, the calibration's
      predictions) shared a folder and the second's ``*_per_film.json`` replaced the
      first's. A timestamp whose folder exists gets ``_01``, ``_02``, ... (names still
      sort in start order); rank 0 picks it for every rank (:meth:`setup_env`).

    Args:
        *args: :class:`mmengine.runner.Runner`'s.
        **kwargs: :class:`mmengine.runner.Runner`'s.
    """

    def __init__(self, *args, **kwargs):
        self._quiet: list = []
        try:
            super().__init__(*args, **kwargs)
        finally:
            for handler, level in self._quiet:
                handler.setLevel(level)
            self._quiet = []
        for handler in console_handlers(self.logger):
            if not isinstance(handler.formatter, ConsoleFormatter):
                handler.setFormatter(ConsoleFormatter(color=True, datefmt='%m/%d %H:%M:%S'))
            if not any(isinstance(f, ConsoleFilter) for f in handler.filters):
                handler.addFilter(ConsoleFilter())

    def setup_env(self, env_cfg: dict) -> None:
        """MMEngine's environment set-up, then a timestamp no folder of the work dir
        has yet (the log folder's name).

        Args:
            env_cfg (dict): the config's ``env_cfg``.
        """
        import torch
        from mmengine.dist import broadcast

        super().setup_env(env_cfg)
        suffix = 0
        if self.rank == 0:
            while osp.exists(osp.join(self.work_dir, self._unique_stamp(suffix))):
                suffix += 1
        chosen = torch.tensor(suffix, dtype=torch.int64)
        broadcast(chosen)
        self._timestamp = self._unique_stamp(int(chosen.item()))

    def _unique_stamp(self, suffix: int) -> str:
        return self._timestamp if suffix == 0 else f'{self._timestamp}_{suffix:02d}'

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        """MMEngine's logger, its console quiet until the Runner is built.

        Args:
            log_level (int | str): the level of the log file and, once the Runner is
                built, of the console. Defaults to ``'INFO'``.
            log_file (str, optional): the log file. Defaults to None (MMEngine's:
                ``<log_dir>/<timestamp>.log``).
            **kwargs: passed to :meth:`mmengine.runner.Runner.build_logger`.

        Returns:
            MMLogger: the Runner's logger.
        """
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        for handler in console_handlers(logger):
            if handler.level < BUILD_CONSOLE_LEVEL:
                self._quiet.append((handler, handler.level))
                handler.setLevel(BUILD_CONSOLE_LEVEL)
        return logger

    def build_param_scheduler(self, scheduler):
        """MMEngine's schedulers, a warm-up longer than its share of the run shortened.

        Args:
            scheduler (dict | list): the ``param_scheduler`` config(s) or schedulers.

        Returns:
            list | dict: what :meth:`mmengine.runner.Runner.build_param_scheduler`
            returns.
        """
        if isinstance(scheduler, (list, tuple)) and all(isinstance(s, dict) for s in scheduler):
            max_iters = self.train_loop.max_iters
            scheduler, changed = fit_warmup(scheduler, max_iters)
            for kind, old, new in changed:
                self.logger.info(
                    f'{kind} warm-up: {old} iterations are more than '
                    f"{WARMUP_MAX_SHARE:.0%} of this run's {max_iters}; it ends after {new}"
                )
        return super().build_param_scheduler(scheduler)
