"""The query layer: every query the app runs, as parenthesised chains, one clause
per line, in one module per area. Route modules and services call these and only
paginate and render; SQL that only one backend speaks sits behind the database
seam (`blog.db.backend()`), not here.

- `posts`: one post, its revisions, the writes of the editor.
- `trash`: deleted posts: into the trash and out, its lists, purging.
- `listings`: the homepage and the author pages.
- `readers`: feeds, tags, search, the sitemap, export and import.
- `people`: users, sessions, the admin area and its audit trail.
- `throttles`: the throttle's counters (blog.throttle).
"""
