from .hip_metric import HipMetric, hip_measures, summarise, summarise_records

__all__ = ['HipMetric', 'hip_measures', 'summarise', 'summarise_records']
