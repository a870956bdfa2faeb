from .hip_metric import HipMetric, hip_measures, summarise

__all__ = ['HipMetric', 'hip_measures', 'summarise']
