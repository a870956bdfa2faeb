"""Data preparation: CSV -> COCO conversion and the synthetic demo set."""
