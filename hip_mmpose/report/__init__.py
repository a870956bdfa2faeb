"""The report: plots (:mod:`.plots`) and the page that shows them (:mod:`.page`)."""

from .page import write_report

__all__ = ['write_report']
