"""The job consumer's entry point: ``huey_consumer marketplace.jobs.worker.huey``. It builds the
application once (the runners register with it) and runs each job in its context."""

from marketplace import create_app
from marketplace.jobs import huey  # noqa: F401  (what huey_consumer loads)

app = create_app()
