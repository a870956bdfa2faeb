"""Torch-free helpers shared by every layer: the stack fixes (:mod:`.compat`), whole
writes (:mod:`.atomic`), the film reader (:mod:`.film_io`), the per-hip crop frame
(:mod:`.hip_crops`), the per-film record (:mod:`.records`), text made safe for CSV and
HTML (:mod:`.safe_text`) and where the packaged configs are (:mod:`.config_files`).

Nothing here imports torch or an OpenMMLab package at import time (``compat`` imports
them only inside its fixes), so the ONNX runtime installs and uses these modules alone.
"""
