"""The built-in reference backend: NumPy arrays are its tensors and it runs the IR with
the core's interpreter.  It tests the core and is the template for third-party backends:
`plugin.py` (hooks, no heavy imports), `backend.py` (values), `executable.py` (running)."""
