"""Text the project writes into files that other programs interpret.

HTML pages escape with :func:`html.escape`; CSV cells go through :func:`csv_cell`.
"""

from __future__ import annotations

# a spreadsheet reads a cell starting with one of these as a formula
FORMULA_START = ('=', '+', '-', '@', '\t', '\r')


def csv_cell(value):
    """A CSV cell value that a spreadsheet will not run as a formula.

    Strings starting with ``= + - @``, a tab or a carriage return get a leading
    single quote (OWASP's advice against CSV injection, e.g. a film named
    ``=HYPERLINK(...).png``). Anything else, numbers included (``-0.5`` stays a
    number), is returned unchanged.

    Args:
        value (Any): the cell's value.

    Returns:
        Any: ``value`` unchanged, or the string with a leading ``'``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
