"""GET /settings/export: a zip of your posts as Markdown with front matter, and the
images they show (the format is blog.zipformat's and blog.media_zip's, which
`python run.py import` reads back)."""

import tempfile

from bottle import HTTPError, response

from blog import forms, roles, sessions
from blog.models import utcnow
from blog.site import current_site
from blog.zipformat import write_zip

SPOOL_BYTES = 8 * 1024 * 1024  # exports bigger than this spill to a temporary file


@sessions.login_required
def export():
    """GET /settings/export: a zip of your posts; ?all=1 (admins): everyone's."""
    user = sessions.current_user()
    everyone = forms.query('all') not in ('', '0')
    if everyone and not roles.can(user, 'export_all'):
        raise HTTPError(403, 'Only administrators can export every author’s posts.')
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    write_zip(out, None if everyone else user, current_site().media)
    size = out.tell()
    out.seek(0)
    name = 'blog-export-%s-%s.zip' % ('all' if everyone else user.username,
                                      utcnow().strftime('%Y%m%d'))
    response.content_type = 'application/zip'
    response.set_header('Content-Disposition', 'attachment; filename="%s"' % name)
    response.set_header('Content-Length', str(size))
    response.set_header('Cache-Control', 'no-store')
    return out


def install(app):
    """Add this module's routes to `app`."""
    app.route('/settings/export', 'GET', export, name='export')
