#!/usr/bin/env python
"""`hip-review` from a checkout: runs hip_mmpose/tools/review.py.
`--help` lists its options.

Works from any directory; the checkout's hip_mmpose comes first on the path.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hip_mmpose.tools.review import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
