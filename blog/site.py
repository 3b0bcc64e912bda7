"""`Site`: everything one app owns, made once by `create_app(config)`.

A site holds its configuration, its database backend (pool, SQL functions, hash
cost), its media store (blog.media_store) and, when it serves the web, its page
cache, its sign-in throttle, the sessions it read lately and its Jinja2
environment (`blog.app.create_app` makes those). Two sites in one process share
none of these. A request reaches its site through `current_site()`; the command
line makes a bare site (config and backend) and activates it for the command.
"""

import contextlib

from bottle import request

from blog import db
from blog.image_worker import Workers
from blog.mail import Mailer
from blog.media_store import LocalStore
from blog.sqlite import SqliteBackend

APP_KEY = 'blog.site'  # where a Bottle app keeps its site (app.config)


class Site:
    """One blog: configuration, database, caches and settings."""

    def __init__(self, config, backend=None, cache=None, throttle=None, jinja=None,
                 sessions=None):
        self.config = config
        self.backend = backend or open_backend(config)
        self.media = LocalStore(config.media_path)  # uploaded images (blog.uploads)
        self.image_workers = Workers()  # the children that process uploads
        self.mailer = Mailer(config.smtp_url, config.sender)  # outgoing mail (blog.mail)
        # The web's parts (blog.app.create_app makes them); the command line has none.
        self.cache = cache
        self.search_cache = None  # results of recent searches (blog.search)
        self.throttle = throttle
        if throttle is not None:
            # Its counts live in this site's database, its limits in this config.
            throttle.attach(self.backend, config)
        self.jinja = jinja
        self.sessions = sessions  # the session rows it read lately (blog.sessions.Known)
        self.app = None  # the Bottle app, whose routes build the site's URLs
        self.front = None  # its front door (blog.front), when it serves the web
        self.setup_token = None  # while it has no admin (blog.first_run)
        self.last_settings = None  # the site settings last read (blog.site_settings)
        self.invitation_links = {}  # made, not yet shown (blog.invitations)

    def activate(self):
        """Serve this site from the calling thread; returns the previous backend."""
        return db.use(self.backend)

    @contextlib.contextmanager
    def activated(self):
        """This site is the calling thread's for the block (then the previous one)."""
        previous = db.use(self.backend)
        try:
            yield self
        finally:
            db.use(previous)

    def migrate(self):
        """Apply pending migrations; returns their names."""
        return self.backend.migrate()

    def close(self):
        """Close every pooled connection; stop the idle image workers."""
        self.backend.close_all()
        self.image_workers.stop()


def open_backend(config):
    """The database backend for `config.db_path` (an SQLite file)."""
    return SqliteBackend(config.db_path, config.hash_cost)


def current_site():
    """The site the current request is for."""
    return request.app.config[APP_KEY]
