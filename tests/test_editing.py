"""A stale edit is merged with what was saved meanwhile: non-overlapping changes
are saved together (303, with a notice naming who else saved); overlapping ones
reach the 409 page with a choice per part."""

import pytest

from blog.models import DRAFT, Revision
from tests.conftest import fresh_post as fresh
from tests.conftest import post_path, save_as
from tests.conftest import post_revisions as revisions

BODY = 'First paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n'


def edit_form(client, post_id):
    return client.get('/posts/%d/edit' % post_id).forms['post-form']


def conflict_form(page):
    return page.forms['conflict-form']


@pytest.fixture
def post(people, make_post):
    return make_post(people['alice'], title='Original', body=BODY, tags=['one'])


@pytest.fixture
def tabs(browser, post):
    """alice's and bob-the-admin's editors, both opened at version 1."""
    return edit_form(browser('alice'), post.id), edit_form(browser('root'), post.id)


def test_changes_that_do_not_overlap_are_merged_and_saved(browser, post, tabs):
    mine, theirs = tabs
    theirs['title'] = 'Retitled by the admin'
    theirs['body'] = BODY.replace('First paragraph.', 'First paragraph, admin.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Third paragraph.', 'Third paragraph, alice.')
    mine['tags'] = 'one, two'
    answer = mine.submit(status=303)
    assert answer.location == post_path(post.id, notice='merged')
    saved = fresh(post.id)
    assert saved.title == 'Retitled by the admin'  # theirs: I did not touch it
    assert saved.body == ('First paragraph, admin.\n\nSecond paragraph.\n\n'
                          'Third paragraph, alice.\n')
    assert saved.tags == ['one', 'two'] and saved.version == 3
    assert '<p>Third paragraph, alice.</p>' in saved.html
    # Nothing saved is lost: versions 1 and 2 are in the history.
    assert [(r.version, r.title) for r in revisions(post.id)] == [
        (1, 'Original'), (2, 'Retitled by the admin')]
    page = answer.follow()
    assert 'their changes and yours did not overlap' in page.text
    assert 'combined with the version\n  The Admin saved' in page.text
    assert 'href="/posts/%d/revisions/2"' % post.id in page.text


def test_the_same_line_changed_by_both_reaches_the_conflict_page(browser, post, tabs):
    mine, theirs = tabs
    theirs['body'] = BODY.replace('Second paragraph.', 'Second, as the admin wrote it.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Second paragraph.', 'Second, as alice wrote it.').replace(
        'Third paragraph.', 'Third, alice.')
    page = mine.submit(status=409)
    form = conflict_form(page)
    assert form['merge_base'].value == '1' and form['version'].value == '2'
    assert 'Body, part 1 of 1' in page.text
    assert 'Second, as the admin wrote it.' in page.text
    assert 'Second, as alice wrote it.' in page.text
    assert form['part-0'].value == 'mine'
    assert form['body'].value.startswith('First paragraph.')  # my text, kept
    assert fresh(post.id).version == 2  # nothing saved yet


@pytest.mark.parametrize('choice, second', [
    ('theirs', 'Second, as the admin wrote it.\n'),
    ('mine', 'Second, as alice wrote it.\n'),
    ('both', 'Second, as the admin wrote it.\nSecond, as alice wrote it.\n'),
])
def test_a_choice_per_part_resolves_it(browser, post, tabs, choice, second):
    mine, theirs = tabs
    theirs['body'] = BODY.replace('Second paragraph.', 'Second, as the admin wrote it.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Second paragraph.', 'Second, as alice wrote it.').replace(
        'Third paragraph.', 'Third, alice.')
    form = conflict_form(mine.submit(status=409))
    form['part-0'] = choice
    answer = form.submit('resolve', status=303)
    assert answer.location == post_path(post.id, notice='merged')
    assert fresh(post.id).body == 'First paragraph.\n\n%s\nThird, alice.\n' % second


def test_a_field_changed_by_both_is_a_choice_too(browser, post, tabs):
    mine, theirs = tabs
    theirs['title'] = 'Admin title'
    theirs.submit(status=303)
    mine['title'] = 'Alice title'
    mine['body'] = BODY + '\nMore from alice.\n'
    page = mine.submit(status=409)
    assert 'Title: changed by both of you' in page.text
    form = conflict_form(page)
    form['choice-title'] = 'theirs'
    form.submit('resolve', status=303)
    saved = fresh(post.id)
    assert saved.title == 'Admin title' and saved.body.endswith('More from alice.\n')


def test_choices_made_against_a_version_that_moved_on_are_asked_again(browser, post, tabs):
    mine, theirs = tabs
    theirs['body'] = BODY.replace('Second paragraph.', 'Admin v2.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Second paragraph.', 'Alice.')
    form = conflict_form(mine.submit(status=409))
    again = edit_form(browser('root'), post.id)
    again['body'] = BODY.replace('Second paragraph.', 'Admin v3.')
    again.submit(status=303)
    form['part-0'] = 'theirs'
    page = form.submit('resolve', status=409)  # "theirs" meant v2, not v3
    assert 'Admin v3.' in page.text and conflict_form(page)['version'].value == '3'
    assert fresh(post.id).body == BODY.replace('Second paragraph.', 'Admin v3.')


def test_replacing_theirs_is_still_a_deliberate_overwrite(browser, post, tabs):
    mine, theirs = tabs
    theirs['body'] = BODY.replace('Second paragraph.', 'Admin.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Second paragraph.', 'Alice.')
    page = mine.submit(status=409)
    assert 'whatever\n    they changed that is not in it is replaced' in page.text
    conflict_form(page).submit(status=303)  # the plain submit: "Save mine, replacing theirs"
    assert fresh(post.id).body == BODY.replace('Second paragraph.', 'Alice.')
    assert [r.body for r in revisions(post.id)][-1] == BODY.replace('Second paragraph.',
                                                                    'Admin.')


def test_without_the_starting_version_in_the_history_it_is_a_plain_conflict(
        browser, post, tabs, dbconn):
    mine, theirs = tabs
    theirs['title'] = 'Admin title'
    theirs.submit(status=303)
    Revision.delete().where(Revision.post == post.id).execute()
    mine['body'] = BODY + 'more\n'
    page = mine.submit(status=409)
    assert 'merge_base' not in conflict_form(page).fields
    assert fresh(post.id).title == 'Admin title'


def test_status_merges_like_any_field(browser, post, tabs):
    mine, theirs = tabs
    save_as(theirs, DRAFT, status=303)
    mine['body'] = BODY + 'more\n'
    mine.submit(status=303)
    saved = fresh(post.id)  # unpublished by them, my new text kept
    assert saved.status == DRAFT and saved.body == BODY + 'more\n'
    assert saved.published_at is not None  # the first publication date stays


def clashing_bodies(tabs):
    """The admin saves one wording of the second paragraph; alice's stale form,
    returned, holds another (sending it reaches the conflict page)."""
    mine, theirs = tabs
    theirs['body'] = BODY.replace('Second paragraph.', 'Second, as the admin wrote it.')
    theirs.submit(status=303)
    mine['body'] = BODY.replace('Second paragraph.', 'Second, as alice wrote it.')
    return mine


def test_a_slug_typed_in_an_edit_that_conflicts_is_kept_on_the_conflict_page(
        browser, post, tabs):
    mine = clashing_bodies(tabs)
    mine['slug'] = 'my-own-address'
    page = mine.submit(status=409)
    form = conflict_form(page)
    assert form['slug'].value == 'my-own-address'  # what I typed, kept
    form.submit('resolve', status=303)
    assert fresh(post.id).slug == 'my-own-address'


def test_a_conflict_from_a_form_without_the_slug_keeps_the_saved_one(
        browser, post, tabs):
    mine = clashing_bodies(tabs)
    del mine.fields['slug']
    page = mine.submit(status=409)
    assert conflict_form(page)['slug'].value == fresh(post.id).slug == 'original'
