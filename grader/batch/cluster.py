"""The grading cluster, reachable by the instructor only: Dask with TLS client certificates.

A Dask client can run any code on the workers (``client.run``), so whoever
can connect to the scheduler can change grades. Every cluster the batch uses
therefore authenticates its peers with TLS certificates through
``distributed.Security`` (both sides present one signed by the cluster's CA):

- the default in-process ``LocalCluster``: a key and certificate made for the
  run, in this process's memory only (``Security.temporary()``);
- ``--scheduler tls://HOST:PORT --tls DIR``: an existing cluster started with
  the files of ``python -m grader batch certs DIR`` (:mod:`cvlab_ch9.grader.batch.certs`);
  this process uses ``DIR/ca.pem``, ``client.pem`` and ``client-key.pem``.

A plain ``tcp://`` scheduler is refused with a sentence unless the instructor
opts out (``--insecure-scheduler``: a network only they can reach).
"""

import contextlib
import logging
import os
from pathlib import Path

#: Seconds to wait for a scheduler to answer, and for its first worker.
CONNECT_TIMEOUT_S = 10.0
#: The folder with the client's TLS files, when --tls is not given.
TLS_ENV = "CVLAB_DASK_TLS"


class BatchError(RuntimeError):
    """The batch cannot run (no scheduler, no workers, no certificate); the message says what to do."""


def default_workers():
    """Worker processes for this machine: one per core, at most one per 2 GB of memory (judge + sandbox)."""
    import psutil  # noqa: PLC0415 - only where a cluster is sized

    by_memory = int(psutil.virtual_memory().total / 2**31)
    return max(1, min(os.cpu_count() or 1, by_memory))


def scheduler_problem(address, tls_dir=None, insecure=False):
    """None when this run may use the scheduler at ``address``, else the sentence that says what to do."""
    scheme = address.split("://", 1)[0].lower() if "://" in address else "tcp"
    if scheme == "tls":
        if tls_dir is None:
            return (f"{address} needs this machine's client certificate: pass --tls DIR (or set {TLS_ENV}), the folder "
                    "`python -m grader batch certs DIR` wrote.")
        return None
    if scheme == "tcp" and insecure:
        return None
    return (f"{address} is a plain {scheme}:// scheduler: whoever reaches its port can run code on the workers and change "
            "grades. Start the cluster with TLS certificates (`python -m grader batch certs DIR` prints the commands) and "
            "pass --scheduler tls://HOST:PORT --tls DIR, or add --insecure-scheduler if only you can reach that network.")


def client_security(tls_dir):
    """The ``distributed.Security`` of the grading client from ``tls_dir`` (ca.pem, client.pem, client-key.pem).

    Raises:
        BatchError: a file is missing.
    """
    from distributed import Security  # noqa: PLC0415 - Dask's modules load only when a batch runs

    from cvlab_ch9.grader.batch.certs import role_files  # noqa: PLC0415 - with Dask

    folder = Path(tls_dir)
    files = [role_files(folder, "ca")[0], *role_files(folder, "client")]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise BatchError(f"{folder} lacks {', '.join(missing)}: pass the folder `python -m grader batch certs` wrote.")
    return Security(tls_ca_file=str(files[0]), tls_client_cert=str(files[1]), tls_client_key=str(files[2]),
                    require_encryption=True)


@contextlib.contextmanager
def _quiet_dask_logs():
    """Dask's own log lines (a traceback when the scheduler goes away) stay off stderr; the run says it in a sentence."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _remote_client(scheduler, connect_timeout_s, security):
    from distributed import Client  # noqa: PLC0415 - Dask's modules load only when a batch runs

    with _quiet_dask_logs():
        try:
            client = Client(scheduler, timeout=connect_timeout_s, security=security)
        except (OSError, TimeoutError, ValueError):
            tls = " with this machine's certificate (is DIR the folder whose CA the cluster uses?)" if security else ""
            raise BatchError(
                f"No Dask scheduler answered at {scheduler}{tls} within {connect_timeout_s:g} s: start one there "
                f"(`dask scheduler`, then `dask worker {scheduler}` on each grading machine; "
                "`python -m grader batch certs DIR` prints both), or leave out --scheduler to grade on this machine."
            ) from None
        with client:
            try:
                client.wait_for_workers(1, timeout=connect_timeout_s)
            except (OSError, TimeoutError):
                raise BatchError(f"The Dask scheduler at {scheduler} has no workers: start `dask worker {scheduler}` "
                                 "on each grading machine, in an environment with cvlab installed.") from None
            yield client


@contextlib.contextmanager
def dask_client(workers=None, scheduler=None, connect_timeout_s=CONNECT_TIMEOUT_S, tls_dir=None, insecure=False,
                local_tls=True):
    """A connected ``distributed.Client``: to ``scheduler``, else to a new in-process LocalCluster of ``workers``.

    Args:
        scheduler: ``tls://HOST:PORT`` (with ``tls_dir``), or ``tcp://HOST:PORT`` with ``insecure``.
        tls_dir: the folder of ``python -m grader batch certs`` (default ``$CVLAB_DASK_TLS``).
        local_tls: False only to measure what TLS costs (``python -m course.benchmark --tls-cost``): a LocalCluster
            over plain TCP on 127.0.0.1.

    Raises:
        BatchError: the scheduler is refused or does not answer, or has no workers.
    """
    import dask  # noqa: PLC0415 - Dask's modules load only when a batch runs
    from distributed import Client, LocalCluster, Security  # noqa: PLC0415

    if scheduler:
        tls_dir = tls_dir or os.environ.get(TLS_ENV) or None
        problem = scheduler_problem(scheduler, tls_dir, insecure)
        if problem:
            raise BatchError(problem)
        security = client_security(tls_dir) if scheduler.lower().startswith("tls://") else None
        with _remote_client(scheduler, connect_timeout_s, security) as client:
            yield client
        return
    # one task per worker at a time: a second one queued behind a long submission could wait while another worker idles
    config = {"distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config), LocalCluster(
        n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, memory_limit=0,  # the sandboxes have their own memory limit
        security=Security.temporary() if local_tls else None, host="127.0.0.1",
    ) as cluster, Client(cluster) as client:
        yield client
