"""Runs the reference trainer worker: `python -m keel_trainer.worker`.

Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default `default`),
KEEL_TRAINER_TASK_QUEUE (default `trainers-python`), KEEL_ARTIFACT_DIR (Keel's artifact store; required),
KEEL_TRAINER_CONCURRENCY (trainings at once, default 1).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from .activity import TrainerActivities
from .artifact_store import FsArtifactStore

DEFAULT_TASK_QUEUE = "trainers-python"


async def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    artifact_dir = os.environ.get("KEEL_ARTIFACT_DIR")
    if not artifact_dir:
        sys.exit("KEEL_ARTIFACT_DIR must name Keel's artifact store (the same directory Keel's workers use)")
    address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    task_queue = os.environ.get("KEEL_TRAINER_TASK_QUEUE", DEFAULT_TASK_QUEUE)
    concurrency = int(os.environ.get("KEEL_TRAINER_CONCURRENCY", "1"))
    client = await Client.connect(address, namespace=namespace)
    activities = TrainerActivities(FsArtifactStore(artifact_dir))
    worker = Worker(client, task_queue=task_queue, activities=[activities.train_model], max_concurrent_activities=concurrency)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    logging.getLogger("keel_trainer").info("polling task queue %s on %s (namespace %s), artifacts in %s", task_queue, address, namespace, artifact_dir)
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    logging.shutdown()
    # The worker has shut down; Temporal's native runtime threads can abort interpreter finalization
    # ("PyGILState_Release … finalizing"), so leave without it.
    os._exit(0)
