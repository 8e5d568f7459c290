"""The test suite."""

import os

# The job queue's store, chosen when marketplace.jobs is first imported: in memory, and every job runs at
# once (TestingConfig.JOBS_IMMEDIATE), in the request that queues it. Here, before any test module
# imports the application.
os.environ.setdefault("JOBS_URL", "memory://")
