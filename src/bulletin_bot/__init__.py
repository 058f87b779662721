"""bulletin_bot: answers questions over Chinese work bulletins with verbatim, cited quotes."""

import os

# OpenMP threads (the e5 reader's C engine, faiss) that wait by spinning burn a whole core each
# when the machine is busy: e5 took 2.3 CPU-seconds a passage instead of 0.13 on a loaded 2-core
# box. Waiting threads sleep instead, unless the operator chose otherwise. Set before any of
# those libraries starts its OpenMP runtime, which reads it once.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
