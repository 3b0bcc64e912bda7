"""Review: contributors submit, editors publish or send back with a note the author
sees in the editor; the queue is oldest first and never acts on text nobody read."""

import pytest

from blog.db import db
from blog.models import DRAFT, PENDING, PUBLISHED, Post
from tests.conftest import csrf_from, post_path, save_as


@pytest.fixture
def team(make_user):
    return {'carl': make_user('carl', role='contributor'),
            'eve': make_user('eve', role='editor'),
            'ann': make_user('ann', role='author')}


def submit(client, title, body='Draft words.'):
    form = client.get('/posts/new').forms['post-form']
    form['title'], form['body'] = title, body
    save_as(form, 'pending', status=303)
    with db.connection_context():
        return Post.get(Post.title == title)


def fresh(post_id):
    with db.connection_context():
        return Post.get_by_id(post_id)


def decide(client, post, action, note='', version=None, status=303):
    page = client.get('/review')
    return client.post('/review/%d' % post.id, {
        'csrf_token': csrf_from(page), 'version': str(version or fresh(post.id).version),
        'action': action, 'note': note}, status=status)


def test_a_submitted_post_waits_in_the_queue_oldest_first(client_for, team):
    carl = client_for('carl')
    first = submit(carl, 'First in')
    second = submit(carl, 'Second in')
    assert first.status == PENDING and first.submitted_at is not None
    page = client_for('eve').get('/review')
    assert page.text.index('First in') < page.text.index('Second in')
    assert 'by <a href="/authors/carl">carl</a>' in page.text
    # Not public: a 404 for readers, readable by editors.
    client_for().get(post_path(first.id), status=404)
    assert 'First in' in client_for('eve').get(post_path(first.id)).text
    assert second.id > first.id


@pytest.mark.parametrize('who, status', [(None, 303), ('carl', 403), ('ann', 403),
                                         ('eve', 200), ('root', 200)])
def test_only_editors_and_admins_see_the_queue(client_for, team, people, who, status):
    client_for(who).get('/review', status=status)


def test_an_editor_publishes_and_it_leaves_the_queue(client_for, team):
    post = submit(client_for('carl'), 'Ready')
    eve = client_for('eve')
    response = decide(eve, post, 'publish')
    assert response.headers['Location'].endswith('/review?notice=published')
    saved = fresh(post.id)
    assert saved.status == PUBLISHED and saved.published_at is not None
    assert saved.version == post.version + 1 and saved.updated_by_id == team['eve'].id
    assert 'Ready' not in eve.get('/review').text
    assert 'Ready' in client_for().get('/').text


def test_sending_back_needs_a_note_which_the_author_then_sees(client_for, team):
    carl = client_for('carl')
    post = submit(carl, 'Rough')
    eve = client_for('eve')
    page = decide(eve, post, 'send-back', note='', status=422)
    assert 'Tell the author what to change.' in page.text
    assert fresh(post.id).status == PENDING
    decide(eve, post, 'send-back', note='Cut the <b>second</b> half.')
    saved = fresh(post.id)
    assert (saved.status, saved.review_note, saved.reviewed_by_id) == (
        DRAFT, 'Cut the <b>second</b> half.', team['eve'].id)
    editor = carl.get('/posts/%d/edit' % post.id)
    assert 'Sent back by an editor (eve)' in editor.text
    assert 'Cut the &lt;b&gt;second&lt;/b&gt; half.' in editor.text  # escaped
    # Submitting again clears the note and puts it back in the queue.
    form = editor.forms['post-form']
    save_as(form, 'pending', status=303)
    again = fresh(post.id)
    assert again.status == PENDING and again.review_note == ''
    assert again.submitted_at >= saved.submitted_at
    assert 'Rough' in eve.get('/review').text


def test_a_decision_on_a_version_nobody_read_does_nothing(client_for, team):
    carl = client_for('carl')
    post = submit(carl, 'Moving')
    seen = fresh(post.id).version
    form = carl.get('/posts/%d/edit' % post.id).forms['post-form']
    form['body'] = 'Changed after the editor loaded the queue.'
    form.submit(status=303)
    page = decide(client_for('eve'), post, 'publish', version=seen, status=409)
    assert 'read it again' in page.text
    assert fresh(post.id).status == PENDING


def test_a_contributor_cannot_decide(client_for, team):
    post = submit(client_for('carl'), 'Mine')
    carl = client_for('carl')
    carl.post('/review/%d' % post.id, {'csrf_token': csrf_from(carl.get('/')),
                                       'version': '1', 'action': 'publish'}, status=403)
    assert fresh(post.id).status == PENDING


def test_the_header_links_to_the_queue_for_editors(client_for, team):
    assert 'href="/review"' in client_for('eve').get('/').text
    assert 'href="/review"' not in client_for('ann').get('/').text
