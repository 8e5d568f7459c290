"""Entry point of the job runner (``huey_consumer jobs_runner.huey``), as wsgi.py is the web server's: it
builds the application once, which registers what each kind of job does and becomes the context jobs
run in."""

from marketplace import create_app
from marketplace.jobs import huey  # noqa: F401  (what huey_consumer loads)

app = create_app()
