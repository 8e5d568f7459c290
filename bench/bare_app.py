"""The benchmark's bare baseline: a separate minimal Flask app, served by gunicorn with the same
settings as the real one, that reads one row from the same database and renders a tiny template
(compiled once). Nothing of the marketplace app runs in it: no extensions, no per-request hooks.

    gunicorn --workers 2 bench.bare_app:app      (DATABASE_URL names the database)"""

import os

import sqlalchemy as sa
from flask import Flask

app = Flask(__name__)
engine = sa.create_engine(os.environ["DATABASE_URL"], pool_pre_ping=False)
PAGE = app.jinja_env.from_string("<!doctype html><title>{{ code }}</title><p>{{ name }}</p>")
ONE_ROW = sa.text("SELECT code, name_zh FROM counties ORDER BY id LIMIT 1")


@app.get("/one-row")
def one_row():
    with engine.connect() as connection:
        code, name = connection.execute(ONE_ROW).one()
    return PAGE.render(code=code, name=name)
