"""The media library and uploads through the app (WebTest): storing, refusing,
quotas, deleting, serving, the editor's own upload, and how posts show images."""

import io
import os
import re

import pytest
from PIL import Image as PILImage

from blog import site_settings
from blog.db import db
from blog.models import Image, Post, PostImage
from tests import pictures
from tests.conftest import csrf_from, fill_editor, post_id_in, save_as

KEY_URL = re.compile(r'/media/([0-9a-f]{32})\.(jpg|png|gif|webp)')


def upload(client, data, name='photo.jpg', alt='A red barn at dusk', status=303, field='file'):
    """POST one file to /media; the response."""
    token = csrf_from(client.get('/media'))
    return client.post('/media', {'csrf_token': token, 'alt': alt},
                       upload_files=[(field, name, data)] if data is not None else [],
                       status=status)


def images():
    with db.connection_context():
        return list(Image.select().order_by(Image.id))


def stored_files(site):
    root = site.media.root
    if not os.path.isdir(root):
        return []
    return sorted(name for folder in os.listdir(root)
                  for name in os.listdir(os.path.join(root, folder)))


def test_an_upload_is_stored_in_sizes_and_listed(browser, site):
    alice = browser('alice')
    page = upload(alice, pictures.jpeg_with_gps(2000, 1000)).follow()
    (image,) = images()
    assert (image.kind, image.ext, image.width, image.height) == ('jpeg', 'jpg', 1600, 800)
    assert image.webp_widths == [480, 960, 1600]
    assert stored_files(site) == sorted(
        [image.key + '.jpg'] + ['%s-%d.webp' % (image.key, w) for w in (480, 960, 1600)])
    assert image.bytes == sum(os.path.getsize(site.media.path(n)) for n in stored_files(site))
    assert 'Uploaded.' in page.text
    assert '![A red barn at dusk](/media/%s.jpg)' % image.key in page.text
    assert '1600 × 800 px' in page.text and 'Not in any post.' in page.text


def test_what_is_served_has_no_metadata_and_the_right_headers(browser, client):
    alice = browser('alice')
    upload(alice, pictures.jpeg_with_gps(1200, 800))
    (image,) = images()
    for name in [image.filename] + ['%s-%d.webp' % (image.key, w) for w in image.webp_widths]:
        answer = client.get('/media/' + name)
        assert answer.headers['Cache-Control'] == 'public, max-age=31536000, immutable'
        assert answer.headers['X-Content-Type-Options'] == 'nosniff'
        assert answer.content_type == ('image/jpeg' if name.endswith('.jpg') else 'image/webp')
        assert b'SpyCam' not in answer.body and b'home-address' not in answer.body
        served = PILImage.open(io.BytesIO(answer.body))
        assert not served.getexif(), name
        assert not {'exif', 'xmp', 'XML:com.adobe.xmp'} & set(served.info), name


@pytest.mark.parametrize('path', ['/media/../blog.db', '/media/', '/media/abc.jpg',
                                  '/media/' + 'a' * 32 + '.svg',
                                  '/media/' + 'a' * 32 + '.jpg',
                                  '/media/ab', '/media/ab/'])
def test_anything_but_a_stored_file_is_a_404(client, path):
    client.get(path, status=404)


def test_the_library_needs_a_sign_in(client):
    answer = client.get('/media', status=303)
    assert '/login?next=' in answer.headers['Location']


@pytest.mark.parametrize('data, name, message', [
    (pictures.SVG, 'drawing.svg', 'SVG images are not accepted'),
    (b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg"/>', 'x.png', 'SVG images'),
    (b'just some text, not an image', 'notes.jpg', 'not a JPEG, PNG, WebP or GIF'),
    (b'BM' + b'\x00' * 100, 'old.bmp', 'not a JPEG, PNG, WebP or GIF'),
    (pictures.jpeg_with_gps()[:3000], 'cut.jpg', 'damaged or cut short'),
    (pictures.png_claiming(8000, 6000), 'huge.png', '40 megapixels'),
    (b'\xff\xd8\xff' + b'\x00' * (10 * 1024 * 1024), 'big.jpg', 'larger than 10 MiB'),
])
def test_a_refused_file_is_a_422_beside_its_field_with_the_alt_kept(browser, site, data,
                                                                    name, message):
    alice = browser('alice')
    page = upload(alice, data, name=name, alt='Kept <alt> text', status=422)
    error = re.search(r'<p class="error" id="f-file-error">([^<]*)</p>', page.text)
    assert error and message in error.group(1)
    assert 'value="Kept &lt;alt&gt; text"' in page.text
    assert 'href="#f-file"' in page.text  # the summary links to the field
    assert images() == [] and stored_files(site) == []


@pytest.mark.parametrize('alt, data, field, message', [
    ('', pictures.png(), 'alt', 'Describe the image'),
    ('   ', pictures.png(), 'alt', 'Describe the image'),
    ('x' * 1001, pictures.png(), 'alt', 'at most 1000 characters'),
    ('Something', None, 'file', 'Choose an image file'),
])
def test_alt_text_and_a_file_are_required(browser, alt, data, field, message):
    page = upload(browser('alice'), data, alt=alt, status=422)
    error = re.search(r'id="f-%s-error">([^<]*)<' % field, page.text)
    assert error and message in error.group(1)
    assert images() == []


def test_a_request_over_the_upload_limit_is_a_413(browser):
    alice = browser('alice')
    token = csrf_from(alice.get('/media'))
    alice.post('/media', {'csrf_token': token, 'alt': 'x'},
               upload_files=[('file', 'x.jpg', b'\xff' * (11 * 1024 * 1024))], status=413)
    assert images() == []


def test_the_same_bytes_twice_are_one_set_of_files(browser, site):
    data = pictures.png(900, 600)
    alice, bob = browser('alice'), browser('bob')
    upload(alice, data, alt='First')
    files = stored_files(site)
    again = upload(alice, data, alt='Second').follow()
    assert 'You had uploaded this image already' in again.text
    assert len(images()) == 1 and stored_files(site) == files
    upload(bob, data, alt='Bob too')
    rows = images()
    assert [row.owner_id for row in rows] == [rows[0].owner_id, rows[1].owner_id]
    assert len(rows) == 2 and rows[0].key == rows[1].key and stored_files(site) == files
    # Bob deleting his copy leaves Alice's files alone.
    token = csrf_from(bob.get('/media'))
    bob.post('/media/%d/delete' % rows[1].id, {'csrf_token': token}, status=303)
    assert len(images()) == 1 and stored_files(site) == files


def test_the_quota_is_the_site_setting(browser, app):
    alice = browser('alice')
    with db.connection_context():
        site_settings.set_one('media_quota', 0)
    page = upload(alice, pictures.png(), status=422)
    assert 'Image uploads are turned off' in page.text
    with db.connection_context():
        site_settings.set_one('media_quota', 1)
    upload(alice, pictures.png(200, 200), alt='small')
    page = upload(alice, pictures.noisy_jpeg(), alt='too much', status=422)
    assert 'of your 1.0 MiB for images are left' in page.text
    assert 'value="too much"' in page.text
    assert len(images()) == 1
    assert 'of 1.0 MiB' in alice.get('/media').text


def test_an_image_in_a_post_cannot_be_deleted(browser, site):
    alice = browser('alice')
    upload(alice, pictures.png(), alt='Chart')
    (image,) = images()
    form = alice.get('/posts/new').forms['post-form']
    fill_editor(form, {'title': 'With a chart', 'body': 'See ![Chart](/media/%s)' % image.filename})
    post_id = post_id_in(save_as(form, 'published').headers['Location'].split('?')[0])
    library = alice.get('/media')
    assert 'With a chart</a>' in library.text
    token = csrf_from(library)
    page = alice.post('/media/%d/delete' % image.id, {'csrf_token': token}, status=409)
    assert 'This image is in 1 post' in page.text
    assert len(images()) == 1 and stored_files(site)
    # Taken out of the post, it can go, and its files with it.
    form = alice.get('/posts/%d/edit' % post_id).forms['post-form']
    form['body'] = 'No chart now.'
    save_as(form, 'published')
    alice.post('/media/%d/delete' % image.id, {'csrf_token': token}, status=303)
    assert images() == [] and stored_files(site) == []


def test_only_the_owner_or_an_admin_deletes(browser):
    alice = browser('alice')
    upload(alice, pictures.png(), alt='Mine')
    (image,) = images()
    bob = browser('bob')
    bob.post('/media/%d/delete' % image.id, {'csrf_token': csrf_from(bob.get('/media'))},
             status=404)
    bob.post('/media/999/delete', {'csrf_token': csrf_from(bob.get('/media'))}, status=404)
    assert len(images()) == 1
    root = browser('root')
    theirs = root.get('/media?owner=alice')
    assert 'Images of Alice Liddell' in theirs.text and 'Mine' in theirs.text
    assert 'name="file"' not in theirs.text  # uploads are always one's own
    answer = root.post('/media/%d/delete' % image.id, {'csrf_token': csrf_from(theirs)},
                       status=303)
    assert answer.headers['Location'].endswith('/media?notice=deleted&owner=alice')
    assert images() == []
    # Only admins look at other people's images.
    bob.get('/media?owner=alice', status=403)
    root.get('/media?owner=nobody', status=404)
    assert 'their images' in root.get('/admin/users/alice').text


def test_delete_needs_the_csrf_token(browser):
    alice = browser('alice')
    upload(alice, pictures.png(), alt='Mine')
    (image,) = images()
    alice.post('/media/%d/delete' % image.id, {}, status=403)
    assert len(images()) == 1


# --- the editor's own upload ----------------------------------------------------

def editor_upload(client, path, fields, data, alt='A diagram', status=200, **extra):
    form = client.get(path).forms['post-form']
    fill_editor(form, fields)
    form['image_alt'] = alt
    if data is not None:
        form['image'] = ('diagram.png', data)
    return form.submit('action', value='upload', status=status, **extra)


def test_the_editor_upload_keeps_the_text_and_adds_the_markdown(browser):
    alice = browser('alice')
    page = editor_upload(alice, '/posts/new', {'title': 'Half written', 'body': 'My text so far.',
                                               'tags': 'drafts'}, pictures.png())
    (image,) = images()
    markdown = '![A diagram](/media/%s.png)' % image.key
    form = page.forms['post-form']
    assert form['title'].value == 'Half written' and form['tags'].value == 'drafts'
    assert form['body'].value == 'My text so far.\n\n' + markdown + '\n'
    assert 'Image uploaded and added' in page.text
    with db.connection_context():
        assert Post.select().count() == 0  # not saved
    # Saving it now makes a post that shows the image, responsive.
    post_page = save_as(form, 'published').follow()
    tag = re.search(r'<img src="/media/%s\.png"[^>]*>' % image.key, post_page.text).group(0)
    assert 'width="640" height="480"' in tag and 'loading="lazy"' in tag
    assert 'srcset="/media/%s-480.webp 480w, /media/%s-640.webp 640w"' % (
        image.key, image.key) in tag
    assert 'sizes="' in tag and 'alt="A diagram"' in tag


def test_the_editor_upload_on_an_edit_keeps_the_version(browser, people, make_post):
    post = make_post(people['alice'], title='Old', body='Old body.')
    alice = browser('alice')
    page = editor_upload(alice, '/posts/%d/edit' % post.id, {'body': 'Edited body.'},
                         pictures.png(300, 200))
    form = page.forms['post-form']
    assert form['version'].value == '1'
    assert form['body'].value.startswith('Edited body.\n\n![A diagram](/media/')
    with db.connection_context():
        assert Post.get_by_id(post.id).body == 'Old body.'


@pytest.mark.parametrize('data, alt, field, message', [
    (pictures.SVG, 'An icon', 'image', 'SVG images are not accepted'),
    (None, 'An icon', 'image', 'Choose an image file'),
    (pictures.png(), '', 'image_alt', 'Describe the image'),
])
def test_a_refused_editor_upload_is_a_422_with_everything_kept(browser, data, alt, field,
                                                               message):
    alice = browser('alice')
    page = editor_upload(alice, '/posts/new', {'title': 'Mine', 'body': 'Every word kept.'},
                         data, alt=alt, status=422)
    form = page.forms['post-form']
    assert form['body'].value == 'Every word kept.' and form['title'].value == 'Mine'
    assert form['image_alt'].value == alt
    error = re.search(r'id="f-%s-error">([^<]*)<' % field, page.text)
    assert error and message in error.group(1)
    assert '<details class="image-upload" open>' in page.text
    with db.connection_context():
        assert Post.select().count() == 0


# --- posts that show images ------------------------------------------------------

def publish(client, title, body):
    form = client.get('/posts/new').forms['post-form']
    fill_editor(form, {'title': title, 'body': body})
    return post_id_in(save_as(form, 'published').headers['Location'].split('?')[0])


def test_a_post_records_its_images_and_its_first_is_the_og_and_feed_image(browser, client):
    alice = browser('alice')
    upload(alice, pictures.png(1000, 500), alt='Wide')
    upload(alice, pictures.png(300, 300, mode='RGB'), alt='Square')
    wide, square = images()
    body = '![Wide](/media/%s)\n\n![Square](/media/%s-480.webp)' % (wide.filename, square.key)
    post_id = publish(alice, 'Two pictures', body)
    with db.connection_context():
        rows = list(PostImage.select().where(PostImage.post == post_id)
                    .order_by(PostImage.position))
    assert [(row.key, row.position) for row in rows] == [(wide.key, 0), (square.key, 1)]
    page = client.get('/posts/%d' % post_id).follow()
    assert ('<meta property="og:image" content="http://blog.test/media/%s">' % wide.filename
            in page.text)
    assert '<meta property="og:image:width" content="1000">' in page.text
    assert '<meta property="og:image:alt" content="Wide">' in page.text
    # Any size of an image in the Markdown shows it whole: the fallback and its widths.
    assert '<img src="/media/%s"' % square.filename in page.text
    # Only local images: the CSP allows no other site's.
    assert "img-src 'self' data:;" in page.headers['Content-Security-Policy']
    feed = client.get('/feed.atom').text
    assert '<media:thumbnail url="http://blog.test/media/%s" width="1000" height="500"/>' % (
        wide.filename) in feed
    assert 'src=&#34;http://blog.test/media/%s' % wide.filename in feed or \
        'src=&quot;http://blog.test/media/%s' % wide.filename in feed


def test_a_post_with_an_external_image_lets_the_page_load_it(browser, client):
    alice = browser('alice')
    post_id = publish(alice, 'Elsewhere', '![A cat](https://cats.example/cat.jpg)')
    page = client.get('/posts/%d' % post_id).follow()
    assert "img-src 'self' https: data:;" in page.headers['Content-Security-Policy']
    assert '<meta property="og:image" content="https://cats.example/cat.jpg">' in page.text
    home = client.get('/')
    assert "img-src 'self' data:;" in home.headers['Content-Security-Policy']


def test_an_unknown_media_address_is_left_as_written(browser):
    alice = browser('alice')
    post_id = publish(alice, 'Broken', '![Gone](/media/%s.jpg)' % ('0' * 32))
    with db.connection_context():
        post = Post.get_by_id(post_id)
    assert '<img src="/media/%s.jpg" alt="Gone">' % ('0' * 32) in post.html
    assert 'srcset' not in post.html


def test_files_are_answered_before_the_app_with_its_headers(browser, client, app,
                                                            monkeypatch):
    upload(browser('alice'), pictures.png(), alt='Fast')
    (image,) = images()
    path = '/media/%s-480.webp' % image.key
    # Bottle's routing and hooks are not reached: a broken router would not matter.
    monkeypatch.setattr(app.router, 'match', lambda environ: 1 / 0)
    answer = client.get(path)
    assert answer.headers['ETag'] == '"%s-480.webp"' % image.key
    assert "frame-ancestors 'none'" in answer.headers['Content-Security-Policy']
    assert answer.headers['X-Content-Type-Options'] == 'nosniff'
    assert int(answer.headers['Content-Length']) == len(answer.body)
    again = client.get(path, headers={'If-None-Match': answer.headers['ETag']}, status=304)
    assert again.body == b''
    head = client.head(path)
    assert head.body == b'' and head.headers['Content-Type'] == 'image/webp'


def test_export_import_export_gives_the_same_zip_images_included(browser, site, tmp_path):
    """Export, import into a new site, export again: the same post files and the same
    image files and list, byte for byte."""
    import zipfile

    from blog import media_zip
    from blog.app import create_app
    from blog.config import Config
    from blog.site import APP_KEY
    from blog.zipformat import import_posts, read_export, write_zip

    alice = browser('alice')
    upload(alice, pictures.jpeg_with_gps(900, 600), alt='A boat')
    upload(alice, pictures.gif_animation(), name='w.gif', alt='A wave')
    boat, wave = images()
    publish(alice, 'Both', '![A boat](/media/%s) ![A wave](/media/%s)' % (boat.filename,
                                                                         wave.filename))
    publish(alice, 'None', 'No pictures here.')
    first, second = tmp_path / 'first.zip', tmp_path / 'second.zip'
    with db.connection_context(), open(first, 'wb') as out:
        write_zip(out, None, site.media)
    other = create_app(Config(db_path=str(tmp_path / 'other.db'), base_url='http://o.test'))
    other_site = other.config[APP_KEY]
    try:
        with other_site.activated(), db.connection_context():
            export = read_export(str(first))
            assert sorted(entry['key'] for entry in export.images) == sorted(
                [boat.key, wave.key])
            written = media_zip.store_files(str(first), export.images, other_site.media)
            assert sorted(written) == stored_files(site)  # every file of both images
            assert import_posts(export.records, export.images)[0] == 2
            imported = Post.get(Post.title == 'Both')
            assert 'srcset="/media/%s-480.webp 480w' % boat.key in imported.html
            assert {row.key for row in PostImage.select()} == {boat.key, wave.key}
            with open(second, 'wb') as out:
                write_zip(out, None, other_site.media)
    finally:
        other_site.close()
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.namelist() == b.namelist()
        assert 'media/images.json' in a.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
