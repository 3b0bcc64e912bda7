"""Images through the real server (waitress, `python run.py serve`): each refusal,
metadata stripped from what is served, responsive markup, the editor's upload
keeping the text, an upload cut off mid-way, and the round trips of backup and of
export/import with images."""

import html
import io
import json
import os
import re
import socket
import subprocess
import sys
import zipfile

import pytest
from PIL import Image as PILImage

from tests import pictures
from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server


def run(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def upload(browser, data, name='photo.jpg', alt='A harbour at noon'):
    return browser.request('/media', {'csrf_token': browser.csrf('/media'), 'alt': alt,
                                      'file': (name, data)}, multipart=True)


def media_files(folder):
    if not os.path.isdir(folder):
        return {}
    found = {}
    for sub in os.listdir(folder):
        for name in os.listdir(os.path.join(folder, sub)):
            with open(os.path.join(folder, sub, name), 'rb') as stored:
                found[name] = stored.read()
    return found


def keys_on(page):
    return re.findall(r'/media/([0-9a-f]{32})\.(?:jpg|png|gif|webp)', page)


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path / 'site.db') as running:
        yield running


@pytest.fixture
def alice(server):
    browser = Browser(server.url)
    assert browser.register('alice') == 303
    return browser


REFUSALS = [
    (pictures.SVG, 'logo.svg', 'SVG images are not accepted'),
    (b'%PDF-1.4 not an image', 'paper.jpg', 'not a JPEG, PNG, WebP or GIF'),
    (b'GIF89a' + b'\x00' * 20, 'broken.gif', 'damaged or cut short'),
    (pictures.png_claiming(8000, 6000), 'wide.png', '40 megapixels'),
    (pictures.png_claiming(30000, 30000), 'bomb.png', 'megapixels'),
    (b'\xff\xd8\xff' + b'\x00' * (10 * 1024 * 1024), 'huge.jpg', 'larger than 10 MiB'),
]


def test_each_refusal_is_a_422_that_says_which_and_stores_nothing(server, alice, tmp_path):
    for data, name, message in REFUSALS:
        status, _, page = upload(alice, data, name=name, alt='Kept alt')
        assert status == 422, name
        error = re.search(r'id="f-file-error">([^<]*)<', page)
        assert error and message in error.group(1), (name, error and error.group(1))
        assert 'value="Kept alt"' in page
    # Past the upload route's request limit: the app's own 413 page.
    status, _, page = upload(alice, b'\xff' * (11 * 1024 * 1024), name='x.jpg')
    assert status == 413 and 'Too large' in page
    assert media_files(str(tmp_path / 'site-media')) == {}


def test_what_is_served_is_stripped_sized_and_cached(server, alice, tmp_path):
    status, headers, _ = upload(alice, pictures.jpeg_with_gps(2400, 1600, orientation=6))
    assert status == 303
    library = alice.request(headers['Location'])[2]
    (key,) = set(keys_on(library))
    # Orientation 6: the camera was turned, so the picture is portrait.
    assert '1600 × 2400 px' in library
    anyone = Browser(server.url)
    for name in ['%s.jpg' % key] + ['%s-%d.webp' % (key, w) for w in (480, 960, 1600)]:
        status, headers, body = anyone.request('/media/' + name, raw=True)
        assert status == 200, name
        assert headers['Cache-Control'] == 'public, max-age=31536000, immutable'
        assert headers['X-Content-Type-Options'] == 'nosniff'
        assert headers['Content-Type'] == ('image/jpeg' if name.endswith('jpg') else 'image/webp')
        assert b'SpyCam' not in body and b'home-address' not in body
        image = PILImage.open(io.BytesIO(body))
        assert not image.getexif() and image.height > image.width, name
        assert not image.getexif().get_ifd(pictures.GPS_IFD)
    stored = media_files(str(tmp_path / 'site-media'))
    assert sorted(stored) == sorted(['%s.jpg' % key] + ['%s-%d.webp' % (key, w)
                                                         for w in (480, 960, 1600)])
    assert anyone.request('/media/')[0] == 404
    assert anyone.request('/media/%s' % key[:2])[0] == 404


def test_the_editor_upload_keeps_the_text_then_the_post_shows_it_responsive(server, alice):
    token = alice.csrf('/posts/new')
    fields = {'csrf_token': token, 'title': 'Notes from the harbour',
              'body': 'Typed before the upload; every word stays.', 'tags': 'sea',
              'form_id': 'f' * 20, 'image_alt': 'Boats at noon',
              'image': ('boats.png', pictures.png(1200, 900)), 'action': 'upload'}
    status, _, page = alice.request('/posts/new', fields, multipart=True)
    assert status == 200
    (key,) = set(keys_on(page))
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert body.strip() == ('Typed before the upload; every word stays.\n\n'
                            '![Boats at noon](/media/%s.png)' % key)
    assert 'value="Notes from the harbour"' in page and 'value="sea"' in page
    assert 'Notes from the harbour' not in alice.request('/me/posts')[2]  # not saved
    # A refused image: 422, the text still all there.
    refused = dict(fields, image=('evil.svg', pictures.SVG))
    status, _, page = alice.request('/posts/new', refused, multipart=True)
    assert status == 422 and 'SVG images are not accepted' in page
    assert 'Typed before the upload; every word stays.' in page
    # Save it: the page shows the image with its sizes.
    saved = dict(fields, body=html.unescape(body), status='published')
    del saved['action'], saved['image']
    status, headers, _ = alice.request('/posts/new', saved, multipart=True)
    assert status == 303
    post = Browser(server.url).request(headers['Location'].split('?')[0])[2]
    tag = re.search(r'<img src="/media/%s\.png"[^>]*>' % key, post).group(0)
    assert 'width="1200" height="900"' in tag and 'loading="lazy"' in tag
    assert (f'srcset="/media/{key}-480.webp 480w, /media/{key}-960.webp 960w, '
            f'/media/{key}-1200.webp 1200w"') in tag
    assert 'property="og:image" content="http://127.0.0.1:%d/media/%s.png"' % (
        server.port, key) in post


def test_an_upload_cut_off_mid_way_leaves_nothing(server, alice, tmp_path):
    data = pictures.noisy_jpeg(1000, 800)
    boundary = 'cutoff'
    body = (b'--cutoff\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            + alice.csrf('/media').encode() + b'\r\n--cutoff\r\nContent-Disposition: '
            b'form-data; name="alt"\r\n\r\nx\r\n--cutoff\r\nContent-Disposition: form-data; '
            b'name="file"; filename="a.jpg"\r\n\r\n' + data + b'\r\n--cutoff--\r\n')
    cookie = '; '.join('%s=%s' % (c.name, c.value) for c in alice.jar)
    head = ('POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n'
            'Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n'
            % (cookie, boundary, len(body))).encode()
    with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
        sock.sendall(head + body[:len(body) // 2])
    # The server is still well, and nothing of the upload was kept.
    assert Browser(server.url).request('/healthz')[0] == 200
    assert media_files(str(tmp_path / 'site-media')) == {}
    assert 'No images yet.' in alice.request('/media')[2]


def test_backup_then_export_and_import_keep_the_images(server, alice, tmp_path):
    assert upload(alice, pictures.jpeg_with_gps(1000, 700))[0] == 303
    assert upload(alice, pictures.gif_animation(), name='wave.gif', alt='A wave')[0] == 303
    library = alice.request('/media')[2]
    keys = list(dict.fromkeys(keys_on(library)))
    assert len(keys) == 2
    body = '![A harbour](/media/%s.jpg)\n\nand ![A wave](/media/%s.gif)' % (keys[1], keys[0])
    status, headers, _ = alice.request('/posts/new', {
        'csrf_token': alice.csrf('/posts/new'), 'title': 'Pictures', 'body': body,
        'status': 'published', 'tags': '', 'form_id': 'g' * 20}, multipart=True)
    assert status == 303
    post_path = headers['Location'].split('?')[0]
    original = media_files(str(tmp_path / 'site-media'))

    # backup: the database and its images, served whole from the copy.
    result = run('backup', str(tmp_path / 'copy.db'), '--db', str(tmp_path / 'site.db'))
    assert result.returncode == 0, result.stderr
    assert media_files(str(tmp_path / 'copy-media')) == original
    with Server(tmp_path / 'copy.db', open_site=False) as copy:
        page = Browser(copy.url).request(post_path)[2]
        assert '<img src="/media/%s.jpg"' % keys[1] in page
        for name, data in original.items():
            assert Browser(copy.url).request('/media/' + name, raw=True)[2] == data

    # export: the posts and every file of their images, byte for byte.
    status, _, exported = alice.request('/settings/export', raw=True)
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert {name[len('media/'):]: data for name, data in members.items()
            if name.startswith('media/') and name != 'media/images.json'} == original
    listed = json.loads(members['media/images.json'])['images']
    assert sorted(entry['key'] for entry in listed) == sorted(keys)
    assert {entry['alt'] for entry in listed} == {'A harbour at noon', 'A wave'}
    (tmp_path / 'export.zip').write_bytes(exported)

    # import into a new site: the same addresses, the same bytes, shown the same way.
    result = run('import', str(tmp_path / 'export.zip'), '--db', str(tmp_path / 'new.db'))
    assert result.returncode == 0, result.stderr
    assert 'Imported 2 images' in result.stdout
    assert media_files(str(tmp_path / 'new-media')) == original
    with Server(tmp_path / 'new.db', open_site=False) as new:
        reader = Browser(new.url)
        page = reader.request(post_path)[2]
        tag = re.search(r'<img src="/media/%s\.jpg"[^>]*>' % keys[1], page).group(0)
        assert 'srcset=' in tag and 'width="1000" height="700"' in tag
        for name, data in original.items():
            assert reader.request('/media/' + name, raw=True)[2] == data
    # Imported again, nothing new: the rows and files are there.
    result = run('import', str(tmp_path / 'export.zip'), '--db', str(tmp_path / 'new.db'))
    assert result.returncode == 0 and '(0 new files' in result.stdout


def test_an_import_with_a_bad_image_writes_nothing(server, alice, tmp_path):
    assert upload(alice, pictures.png(400, 300))[0] == 303
    (key,) = set(keys_on(alice.request('/media')[2]))
    assert alice.request('/posts/new', {
        'csrf_token': alice.csrf('/posts/new'), 'title': 'One', 'status': 'published',
        'body': '![x](/media/%s.png)' % key, 'tags': '', 'form_id': 'h' * 20},
        multipart=True)[0] == 303
    exported = alice.request('/settings/export', raw=True)[2]
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(exported)) as source, \
            zipfile.ZipFile(tampered, 'w') as out:
        (target,) = [name for name in source.namelist()
                     if re.fullmatch(r'media/%s-[0-9]+\.webp' % key, name)]
        for info in source.infolist():
            data = source.read(info)
            if info.filename == target:
                data = pictures.SVG  # an SVG under an image's name
            out.writestr(info, data)
    (tmp_path / 'bad.zip').write_bytes(tampered.getvalue())
    result = run('import', str(tmp_path / 'bad.zip'), '--db', str(tmp_path / 'other.db'))
    assert result.returncode == 2
    assert target in result.stderr and 'SVG' in result.stderr
    assert media_files(str(tmp_path / 'other-media')) == {}
    assert not os.path.exists(tmp_path / 'other.db')
