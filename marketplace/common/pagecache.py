"""Whole pages kept for visitors who are not signed in, per worker, while what they show is unchanged.

A public page that many people open and that changes only with the data (the home page) is rendered once
per change and language, then served from memory. A page is kept only for a request that carries no
cookie but the language's (no session: no flashed message, no CSRF token, no signed-in user, no
"remember me"), and only when the view answered 200 without setting a cookie. Its key is the address, the
language and the view's ``depends()``: values read cheaply on every request that change whenever the page
would (a counter of ``common.counters``, the latest row's id), so a page is never served stale, whichever
worker made the change. The per-request hooks (security headers, the language cookie) run on every
answer, kept or not.

Pages are kept gzip-compressed (an agency's profile: 10 KB, 2.5 KB kept) and sent so to the browsers
that accept it (every one does), unpacked for any other client. The cache is bounded in those bytes (the
``PAGE_CACHE_BYTES`` setting; 0 turns it off) and drops the least recently used page first."""

import gzip
import hashlib
import threading
import zlib
from collections import OrderedDict
from functools import wraps

from flask import current_app, make_response, request, session
from sqlalchemy.engine import Engine

from marketplace.common import i18n
from marketplace.extensions import db


class PageCache:
    def __init__(self, capacity):
        self.capacity, self.size, self._pages, self._lock = capacity, 0, OrderedDict(), threading.Lock()

    def get(self, key):
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key, page):
        body = page[0]
        if len(body) > self.capacity:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.size -= len(old[0])
            self._pages[key] = page
            self.size += len(body)
            while self.size > self.capacity:
                _key, dropped = self._pages.popitem(last=False)
                self.size -= len(dropped[0])

    def clear(self):
        with self._lock:
            self._pages.clear()
            self.size = 0


def _cache():
    cache = current_app.extensions.get("page_cache")
    if cache is None:
        cache = current_app.extensions["page_cache"] = PageCache(current_app.config["PAGE_CACHE_BYTES"])
    return cache


def _anonymous():
    return request.method in ("GET", "HEAD") and all(name == i18n.LANG_COOKIE for name in request.cookies)


def for_visitors(depends):
    """Serve the view's page from memory to visitors without a session while ``depends(**view_args)`` is
    unchanged."""

    def decorate(view):
        @wraps(view)
        def cached(*args, **kwargs):
            return kept(lambda: depends(*args, **kwargs), lambda: view(*args, **kwargs))

        return cached

    return decorate


def kept(depends, produce):
    """The page ``produce()`` answers, served from memory to visitors without a session while
    ``depends()`` is unchanged: for a view that finds what its page depends on itself (the directory:
    the agencies on the page and their versions), then has the rest of the work done only when needed."""
    cache = _cache()
    if not cache.capacity or not _anonymous():
        return produce()
    # what the page depends on, digested: a search page's (its hits' snippets, its facet counts) is
    # kilobytes, and the cache counts only the pages' bytes
    key = (request.full_path, i18n.current_language(), hashlib.blake2b(repr(_read_apart(depends)).encode()).digest())
    page = cache.get(key)
    if page is not None:
        return _answer(*page)
    response = make_response(produce())
    if (
        response.status_code == 200
        and not response.direct_passthrough
        and "Set-Cookie" not in response.headers
        and "Content-Encoding" not in response.headers
        and not session.modified  # the page gave this visitor a session (a CSRF token): theirs only
    ):
        cache.put(key, (gzip.compress(response.get_data(), compresslevel=6, mtime=0), response.mimetype))
    response.vary.add("Accept-Encoding")
    return response


def _read_apart(depends):
    """``depends()``, read outside a transaction on PostgreSQL when the request has not begun one: a kept
    profile or home page then costs the database three round trips (the pool's check of the connection,
    two reads) instead of five (BEGIN and ROLLBACK around the reads: 0.4–0.6 ms of a kept page's 2.1–2.3
    ms at 50,000 agencies). Each read is a single statement seeing what was committed when it ran, as in
    a READ COMMITTED transaction. The connection goes back to the pool after them (its isolation level
    reset there): a page made afresh reads in a transaction of its own, on a connection checked again. A
    directory page has searched before its key is known, in a transaction: it reads in that one. SQLite's
    BEGIN and ROLLBACK cost no round trip, and its connections keep the transaction settings of
    ``common.database``: it reads in the request's transaction."""
    session, bind = db.session(), db.session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine) or bind.dialect.name == "sqlite":
        return depends()
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        return depends()
    finally:
        session.close()


def _answer(packed, mimetype):
    response = current_app.response_class(mimetype=mimetype)
    if "gzip" in request.accept_encodings:
        response.set_data(packed)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(zlib.decompress(packed, wbits=31))
    response.vary.add("Accept-Encoding")
    return response


def clear():
    """Drop this worker's pages (tests roll the counters back with the data)."""
    cache = current_app.extensions.get("page_cache")
    if cache is not None:
        cache.clear()
