"""Roles and who may do what: the one permission table of the site.

Four roles, each with everything of the one before: a contributor writes drafts and
submits them for review; an author also publishes their own posts; an editor edits,
publishes, unpublishes and deletes anyone's posts and works the review queue; an admin
also manages people, invitations and the site settings.

`PERMISSIONS` maps each action to the least role that may do it to anyone's post or
thing (`any`) and the least role that may do it to their own (`own`; None: only
through `any`). Views ask `can(user, action, owner_id)`; nothing else in the code
compares roles. tests/test_roles.py walks this whole table through the real routes.
"""

from collections import namedtuple

CONTRIBUTOR, AUTHOR, EDITOR, ADMIN = 'contributor', 'author', 'editor', 'admin'
ROLES = (CONTRIBUTOR, AUTHOR, EDITOR, ADMIN)  # each has everything of the ones before
LABELS = {CONTRIBUTOR: 'Contributor', AUTHOR: 'Author', EDITOR: 'Editor', ADMIN: 'Admin'}

Rule = namedtuple('Rule', 'own any what')

PERMISSIONS = {
    # Posts
    'write': Rule(CONTRIBUTOR, None, 'write posts (drafts) and submit them for review'),
    'edit': Rule(CONTRIBUTOR, EDITOR, 'edit a post, see its history, restore a revision'),
    'publish': Rule(AUTHOR, EDITOR, 'publish, schedule or unpublish a post'),
    'delete': Rule(CONTRIBUTOR, EDITOR, 'move a post to the trash, bring it back'),
    'purge': Rule(CONTRIBUTOR, ADMIN, 'delete a trashed post for good'),
    'see_unpublished': Rule(CONTRIBUTOR, EDITOR, 'read a draft, pending or scheduled post'),
    'review': Rule(None, EDITOR, 'see the review queue, publish or send back'),
    'images': Rule(CONTRIBUTOR, ADMIN, 'upload images (within the quota), delete them'),
    # The site
    'see_all_trash': Rule(None, ADMIN, "see everyone's trash"),
    'export_all': Rule(None, ADMIN, "export everyone's posts"),
    'manage_people': Rule(None, ADMIN, 'edit users, their roles and active flags'),
    'invite': Rule(None, ADMIN, 'make invitations'),
    'site_settings': Rule(None, ADMIN, 'change the site settings'),
}


def rank(role):
    """A role's place in ROLES (an unknown role ranks below every real one)."""
    return ROLES.index(role) if role in ROLES else -1


def at_least(role, least):
    """True when `role` has everything of `least` (None: nobody)."""
    return least is not None and rank(role) >= rank(least)


def can(user, action, owner_id=None):
    """May `user` (None: anonymous) do `action`, to something of `owner_id`'s?"""
    if user is None or not user.is_active:
        return False
    rule = PERMISSIONS[action]
    if at_least(user.role, rule.any):
        return True
    return owner_id is not None and owner_id == user.id and at_least(user.role, rule.own)

