import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the fuzz modules import each other by name; the T shims are janus.testing.frameworks
if HERE not in sys.path:
    sys.path.insert(0, HERE)
