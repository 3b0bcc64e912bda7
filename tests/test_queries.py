"""blog.queries: `Prepared` queries give what their peewee query gives, per database."""

import datetime

import pytest

from blog.app import create_app
from blog.config import Config
from blog.models import Post, Session, User
from blog.queries import Prepared, people, sample
from blog.site import APP_KEY
from tests.conftest import TEST_COST

POSTS_BY = Prepared(
    lambda author_id, title: (Post
                              .select(Post, User)
                              .join(User, on=(Post.author == User.id))
                              .where((Post.author == author_id) | (Post.title == title))
                              .order_by(Post.id)),
    sample(int), sample(str))


def plain(author_id, title):
    return list(POSTS_BY.build(author_id, title))


def test_rows_are_the_queries_own_for_each_set_of_values(make_user, make_post):
    alice, bob = make_user('alice'), make_user('bob')
    make_post(alice, title='one')
    make_post(bob, title='two')
    make_post(bob, title='three')
    for values in ((alice.id, 'three'), (bob.id, 'none'), (999, 'one'), (999, 'x')):
        got = POSTS_BY.all(*values)
        assert [(p.id, p.title, p.author.username) for p in got] == [
            (p.id, p.title, p.author.username) for p in plain(*values)]
    assert POSTS_BY.first(999, 'x') is None
    assert POSTS_BY.first(alice.id, 'x').author.username == 'alice'


def test_a_converted_value_goes_through_its_field(make_user, client_for):
    make_user('alice')
    client_for('alice')
    (row,) = Session.select()
    assert people.live_session(row.token_hash, row.expires_at) is None
    earlier = row.expires_at - datetime.timedelta(microseconds=1)
    found = people.live_session(row.token_hash, earlier)
    assert (found.token_hash, found.user.username) == (row.token_hash, 'alice')


def test_each_database_has_its_own(app, tmp_path, make_user):
    make_user('alice')
    other = create_app(Config(db_path=str(tmp_path / 'other.db'), hash_cost=TEST_COST))
    site = other.config[APP_KEY]
    with site.activated():
        assert people.user_named('alice') is None
    site.close()
    assert people.user_named('alice').username == 'alice'


def test_a_sample_the_query_does_not_use_is_an_error(app):
    unused = Prepared(lambda n: User.select().where(User.id == 1), sample(int))
    with pytest.raises(ValueError, match='is not a parameter'):
        unused.first(1)
