"""Queries for the site itself: its settings row."""

from peewee import JOIN

from blog.models import SiteSettings, User

SETTINGS_ID = 1


def settings_row():
    """The site settings row, with the user who saved it last (or None)."""
    return (SiteSettings
            .select(SiteSettings, User)
            .join(User, on=(SiteSettings.updated_by == User.id), join_type=JOIN.LEFT_OUTER)
            .where(SiteSettings.id == SETTINGS_ID)
            .first())
