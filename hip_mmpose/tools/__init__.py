"""The command-line tools: console scripts ``hip-*`` (``pyproject.toml``), each also
run by its thin wrapper ``tools/<name>.py`` in a checkout.

Every tool's ``main(argv=None)`` returns the exit status; train, test and k-fold
also have ``run(argv=None)``, returning what they made (the Runner or
``best_cascade.pth``, the metrics, the summary) for Python callers and tests.
Options are spelled alike across tools: ``--out-dir`` for an output folder,
``--work-dir`` for a run's folder, ``--max-films`` to limit films, ``--device``.
"""

import argparse
import sys


class DeprecatedAlias(argparse.Action):
    """An old spelling of an option: stores into the new one's ``dest`` and warns
    once on stderr. Hidden from ``--help``.

    Example:
        parser.add_argument('--max', dest='max_films', type=int, new='--max-films',
                            action=DeprecatedAlias)
    """

    def __init__(self, option_strings, dest, new: str, **kwargs):
        kwargs.setdefault('help', argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        print(f'warning: {option_string} is deprecated; use {self.new}', file=sys.stderr)
        setattr(namespace, self.dest, values)
