"""Queries shared by the route modules, as parenthesised chains that return a query
for the caller to run (views paginate and render only).

Sections by concern; add to your section only.
"""

from peewee import JOIN, fn  # noqa: F401 - used by the sections below as they grow

from blog.models import PUBLISHED, Post, User  # noqa: F401


# --- Posts (posts.py, history.py) ----------------------------------------------

# --- end of posts section ---


# --- Homepage and authors (home.py, authors.py) -------------------------------

# --- end of homepage and authors section ---


# --- Feeds, search, tags, sitemap, export (feeds.py, search.py, tags.py, ...) ---

# --- end of readers' features section ---


# --- Admin and profiles (admin.py, settings.py) --------------------------------

# --- end of admin section ---
