"""The homepage: each author's latest published post."""

from blog.render import render


def index():
    """GET /: the homepage."""
    return render('home/index.html', entries=[])


def install(app):
    """Add this module's routes to `app`."""
    app.route('/', 'GET', index)
