"""What runs on both sides of the judge/sandbox boundary: the wire format, model summaries,
the Implementation interface, and the sandbox's server and guard.

Self-contained (standard library, numpy, Keras/TensorFlow): the sandbox runs a private
copy of this package without the project on its path, so nothing here imports the project.
"""
