"""cvlab core: the plumbing every room of the lab shares.

Data (synthetic and real Oxford-IIIT Pets), imaging helpers, demo models,
loading a student's or the reference implementation, and keeping TensorFlow
quiet. Nothing here changes the process environment at import time.
"""
