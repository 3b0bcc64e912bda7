"""The models. Their tables are created and changed only by the migrations in
`blog/migrations`; these classes describe the current schema for queries.

Timestamps are UTC, stored as integer microseconds (`TimestampField`), which keeps
the indexes small and gives "latest" sub-second precision.
"""

import datetime
import json

from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    TimestampField,
)

from blog.db import database
from blog.versioning import BaseVersionedModel

DRAFT, PENDING, PUBLISHED = 'draft', 'pending', 'published'  # pending: in review
STATUSES = (DRAFT, PENDING, PUBLISHED)  # what the editor offers
# A deleted post, in the trash until restored or purged (blog.trashing); the status
# it had is kept in trashed_status.
TRASHED = 'trashed'


def utcnow():
    """The current UTC time as a naive datetime (what the timestamp fields hold)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def Timestamp(**kwargs):  # reads like a field class at the call sites
    """A UTC timestamp with microsecond resolution."""
    kwargs.setdefault('default', utcnow)
    return TimestampField(resolution=10 ** 6, utc=True, **kwargs)


def person_name(display_name, username):
    """What a page calls a user: their display name, else their username."""
    return display_name or username


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel, BaseVersionedModel):
    username = CharField(max_length=30, unique=True)
    password = CharField()
    display_name = CharField(max_length=80, default='')
    email = CharField(max_length=254, null=True, unique=True)
    bio = TextField(default='')
    role = CharField(max_length=12, default='author')  # blog.roles
    is_active = BooleanField(default=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    updated_by = ForeignKeyField('self', null=True, on_delete='SET NULL', backref='+')
    last_login_at = Timestamp(null=True, default=None)
    email_confirmed_at = Timestamp(null=True, default=None)  # of `email` (0021)

    @property
    def name(self):
        """What to call this user on a page."""
        return person_name(self.display_name, self.username)

    def before_save_optimistic(self, changed):
        self.updated_at = utcnow()


class Session(BaseModel):
    """A server-side session; the cookie holds a token, the table only its hash."""

    token_hash = CharField(primary_key=True)
    user = ForeignKeyField(User, null=True, on_delete='CASCADE', backref='sessions')
    csrf_token = CharField()
    created_at = Timestamp()
    last_seen_at = Timestamp()
    expires_at = Timestamp(index=True)


class JSONListField(TextField):
    """A list of strings kept as a JSON array (SQLite's json_each() reads it)."""

    def db_value(self, value):
        return json.dumps(list(value or []), ensure_ascii=False)

    def python_value(self, value):
        return json.loads(value) if value else []


class Post(BaseModel, BaseVersionedModel):
    author = ForeignKeyField(User, on_delete='CASCADE', backref='posts')
    title = CharField(max_length=200)
    body = TextField()  # Markdown source
    html = TextField()  # sanitized HTML, rendered once at save
    status = CharField(max_length=10, default=DRAFT,
                       choices=[(s, s) for s in STATUSES + (TRASHED,)])
    tags = JSONListField(default=list)
    created_at = Timestamp()
    updated_at = Timestamp()
    updated_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    # Set when first published (blog.scheduling.publication_time): a moment still
    # ahead makes the post scheduled. publish_at is the moment its author asked for.
    published_at = Timestamp(null=True, default=None)
    publish_at = Timestamp(null=True, default=None)
    # Set while the post is in the trash (status TRASHED), None otherwise.
    trashed_status = CharField(max_length=10, null=True)
    deleted_at = Timestamp(null=True, default=None)
    deleted_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    # Review (migration 0015): when it was last submitted (set by triggers), and the
    # note of the editor who last sent it back.
    submitted_at = Timestamp(null=True, default=None)
    review_note = TextField(default='')
    reviewed_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    # The readable part of its address, /posts/<id>-<slug> (migration 0016, blog.slugs).
    slug = TextField(default='')

    @property
    def is_published(self):
        """Published, whether live or still scheduled."""
        return self.status == PUBLISHED

    @property
    def is_live(self):
        """Published and its time has come: what readers see."""
        return self.is_published and self.published_at is not None and \
            self.published_at <= utcnow()

    @property
    def is_scheduled(self):
        """Published for a moment still ahead."""
        return self.is_published and not self.is_live

    @property
    def publish_time(self):
        """The moment the post is to go out, as the editor shows it: `publish_at`, or
        for a scheduled post without one (imported so), its `published_at`."""
        if self.publish_at is None and self.is_scheduled:
            return self.published_at
        return self.publish_at

    def before_save_optimistic(self, changed):
        self.updated_at = utcnow()
        if self.status == PUBLISHED and self.published_at is None:
            # The editor sets it (blog.scheduling); any other save publishes now.
            self.published_at = self.updated_at


class Revision(BaseModel):
    """A version of a post that a later save replaced (nothing saved is lost)."""

    post = ForeignKeyField(Post, on_delete='CASCADE', backref='revisions')
    version = IntegerField()
    title = CharField(max_length=200)
    body = TextField()
    tags = JSONListField(default=list)
    status = CharField(max_length=10)
    publish_at = Timestamp(null=True, default=None)
    saved_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    saved_at = Timestamp()

    class Meta:
        indexes = ((('post', 'version'), True),)


class PostTag(BaseModel):
    """One row per (post, tag); kept in step with post.tags by triggers."""

    post = ForeignKeyField(Post, on_delete='CASCADE', backref='+')
    tag = CharField(max_length=40)
    # The post's published_at while it is published, else NULL (triggers, 0010).
    published_at = Timestamp(null=True, default=None)

    class Meta:
        primary_key = False
        indexes = ((('tag', 'post'), True),)


class TagSpan(BaseModel):
    """How many published posts carry `tag` in each span of TAG_SPAN microseconds
    (span = published_at // TAG_SPAN), kept in step by triggers on post_tag
    (migration 0019): deep tag pages skip whole spans instead of walking them."""

    tag = CharField(max_length=40)
    span = IntegerField()
    posts = IntegerField()

    class Meta:
        table_name = 'tag_span'
        primary_key = CompositeKey('tag', 'span')
        without_rowid = True


TAG_SPAN = 30 * 24 * 3600 * 10 ** 6  # microseconds: 30 days, as migration 0019 counts


class AuthorLatest(BaseModel):
    """Each author's latest published post (published_at, then the higher id): the
    homepage's ordering for deep pages, seeded by the GROUP BY/HAVING shortcut and kept
    in step by triggers (migration 0011)."""

    author_id = IntegerField(primary_key=True)
    published_at = Timestamp()
    post_id = IntegerField()

    class Meta:
        table_name = 'author_latest'


class PostForm(BaseModel):
    """The post a new-post form made (its hidden `form_id`), so a resent form
    makes no second post."""

    author = ForeignKeyField(User, on_delete='CASCADE', backref='+')
    form_id = CharField(max_length=64)
    post = ForeignKeyField(Post, on_delete='CASCADE', backref='+')

    class Meta:
        primary_key = CompositeKey('author', 'form_id')


class SiteState(BaseModel):
    """One row; `generation` is bumped by triggers on every write that can change
    a public page, so caches in any process know when to drop what they hold."""

    id = IntegerField(primary_key=True)
    generation = IntegerField(default=0)


class SiteSettings(BaseModel, BaseVersionedModel):
    """The one row of site settings (id 1), edited optimistically (blog.site_settings)."""

    id = IntegerField(primary_key=True)
    site_name = CharField(max_length=100)
    site_description = CharField(max_length=300, default='')
    registration = CharField(max_length=10)
    default_role = CharField(max_length=12)
    timezone = CharField(max_length=64, default='UTC')
    require_2fa = BooleanField(default=False)
    media_quota = IntegerField(default=200)  # MiB of images per user (0020)
    updated_at = Timestamp()
    updated_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')

    def before_save_optimistic(self, changed):
        self.updated_at = utcnow()


class Invitation(BaseModel):
    """A single-use link to register with `role` (blog.invitations); the table
    holds only a hash of the link's token."""

    token_hash = CharField(max_length=64, unique=True)
    role = CharField(max_length=12)
    email = CharField(max_length=254, null=True)
    created_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    created_at = Timestamp(index=True)
    expires_at = Timestamp()
    used_at = Timestamp(null=True, default=None)
    used_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    revoked_at = Timestamp(null=True, default=None)  # withdrawn by an admin (0018)


class AuditEntry(BaseModel):
    """An admin's change to a user: which fields, old and new values (as JSON)."""

    user = ForeignKeyField(User, on_delete='CASCADE', backref='audit_entries')
    actor = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    at = Timestamp()
    changes = TextField()  # {"field": [old, new], ...}


class EmailToken(BaseModel):
    """A link mailed to someone (blog.email_links): confirm an address, or reset a
    password; only a hash of its token is kept."""

    purpose = CharField(max_length=10)  # 'confirm' or 'reset'
    token_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, on_delete='CASCADE', backref='+')
    email = CharField(max_length=254)
    created_at = Timestamp()
    expires_at = Timestamp()
    used_at = Timestamp(null=True, default=None)


class Image(BaseModel):
    """An uploaded image of `owner` (blog.uploads): its files in the media folder
    are named by `key`, the content address of the bytes uploaded."""

    key = CharField(max_length=32, index=True)
    owner = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
    ext = CharField(max_length=4)  # the fallback's format: jpg, png, webp or gif
    kind = CharField(max_length=4)  # what the upload really was
    width = IntegerField()  # of the fallback, the largest size made
    height = IntegerField()
    widths = CharField(max_length=40)  # the WebP widths made, e.g. "480,960,1600"
    animated = BooleanField(default=False)
    bytes = IntegerField()  # every file of it together (what the quota counts)
    alt = CharField(max_length=1000)
    name = CharField(max_length=200, default='')  # the file's name as uploaded
    created_at = Timestamp()

    class Meta:
        indexes = ((('owner', 'key'), True),)

    @property
    def filename(self):
        """The fallback's file name, which is the image's address under /media."""
        return '%s.%s' % (self.key, self.ext)

    @property
    def webp_widths(self):
        """The widths made in WebP, smallest first."""
        return [int(w) for w in self.widths.split(',') if w]


class PostImage(BaseModel):
    """An image (by key) that a post's body shows; `position` 0 is its first."""

    post = ForeignKeyField(Post, on_delete='CASCADE', backref='+')
    key = CharField(max_length=32)
    position = IntegerField()

    class Meta:
        primary_key = CompositeKey('post', 'key')
        without_rowid = True


ALL_MODELS = [User, Session, Post, Revision, PostTag, TagSpan, AuthorLatest, PostForm, SiteState,
              SiteSettings, Invitation, AuditEntry, EmailToken, Image, PostImage]
