import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# frameworks.py (the T shims) lives in tests/conformance; the fuzz modules live here
for path in (os.path.join(os.path.dirname(HERE), "conformance"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)
