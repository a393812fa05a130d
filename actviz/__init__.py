"""Compare what activation functions do to the layers of one CNN.

The modules follow the pipeline's one-way data flow: ``datasets`` and ``own_data``
(sources, checksums, download) -> ``formats`` (IDX reader, HDF5 layout) -> ``model``
and ``training`` (checkpoints, TensorBoard logs via ``summaries``) -> ``extraction``
and ``stats`` (activations and their statistics) -> ``report`` (numbers, figures
drawn with ``plots``, HTML). ``settings`` declares every setting once; ``runs`` holds
what training and extraction share.
"""

__version__ = "0.1.0"

import os

# TensorFlow's C++ start-up notices (CUDA probing, CPU features) drown the job logs; keep errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
