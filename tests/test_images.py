"""blog.images: uploads checked from their bytes, re-encoded without metadata, upright, in
sRGB, never upscaled; every refusal's sentence. Fixtures made here (Pillow, or by hand)."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin

from blog import images
from blog.images import ImageRefused

FORMATS = {'jpeg': 'JPEG', 'png': 'PNG', 'webp': 'WEBP', 'gif': 'GIF'}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'
SECRETS = (b'CameraMaker', b'ModelX', b'secret-xmp', b'secret comment', b'Exif\x00\x00')


def encode(im, fmt, **params):
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def opened(data):
    return Image.open(io.BytesIO(data))


def photo(size):
    """Gradients and noise, so encoders have something to do."""
    gradient = Image.linear_gradient('L').resize(size)
    return Image.merge('RGB', (gradient, Image.effect_noise(size, 30), gradient.rotate(180)))


def halves(size=(40, 40), left=(0, 0, 0, 0), right=(255, 0, 0, 255), mode='RGBA'):
    im = Image.new(mode, size, right)
    im.paste(left, (0, 0, size[0] // 2, size[1]))
    return im


def chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))


def png_claiming(width, height, extra=b''):
    """A whole 1-bit black PNG, compressed row by row: 20000 x 20000 is 48 KB."""
    row = bytes(1 + (width + 7) // 8)
    deflate = zlib.compressobj(9)
    idat = b''.join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    ihdr = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + extra + chunk(b'IDAT', idat)
            + chunk(b'IEND', b''))


def animation(fmt, size=(120, 80), colours=('red', 'lime', 'blue'), duration=(100, 200, 300)):
    first, *more = (Image.new('RGB', size, colour) for colour in colours)
    return encode(first, fmt, save_all=True, append_images=more, loop=0, duration=duration)


def refusal(check, *args):
    """The sentence check(*args) refuses with."""
    with pytest.raises(ImageRefused) as refused:
        check(*args)
    return str(refused.value)


def assert_bare(rendition):
    """No EXIF, GPS, XMP, comment or ICC profile, parsed or in the raw bytes."""
    im = opened(rendition.data)
    assert not im.getexif()
    assert not {'exif', 'xmp', 'XML:com.adobe.xmp', 'icc_profile', 'comment'} & set(im.info)
    for secret in SECRETS:
        assert secret not in rendition.data


def assert_sound(processed):
    """Fallback first in the original format, then WebP widths ascending, aspect kept;
    each file what its Rendition says and accepted by verify()."""
    fallback, *webps = processed.renditions
    assert (fallback.suffix, fallback.ext, fallback.width, fallback.height) == (
        '', images.TYPES[processed.kind][1], processed.width, processed.height)
    assert [r.width for r in webps] == sorted({r.width for r in webps})
    assert all((r.suffix, r.ext) == ('-%d' % r.width, 'webp') for r in webps)
    for r in processed.renditions:
        im = opened(r.data)
        assert im.size == (r.width, r.height)
        assert im.format == {'jpg': 'JPEG'}.get(r.ext, r.ext.upper())
        assert r.content_type == Image.MIME[im.format]
        assert abs(r.height - r.width * processed.height / processed.width) <= 1
        assert images.verify(r.data, r.ext) == im.size
        assert_bare(r)


@pytest.mark.parametrize('kind', FORMATS)
def test_each_type_processes(kind):
    processed = images.process(encode(photo((2000, 1000)), FORMATS[kind]))
    assert (processed.kind, processed.animated, processed.note) == (kind, False, '')
    assert [r.width for r in processed.renditions] == [1600, 480, 960, 1600]
    assert [r.height for r in processed.renditions] == [800, 240, 480, 800]
    assert_sound(processed)


@pytest.mark.parametrize('width, webps', [
    (300, [300]), (480, [480]), (700, [480, 700]), (1200, [480, 960, 1200]),
    (1600, [480, 960, 1600]), (2500, [480, 960, 1600])])
def test_widths_never_upscaled_and_the_largest_is_the_whole_image(width, webps):
    processed = images.process(encode(photo((width, 150)), 'PNG'))
    assert processed.width == min(width, 1600)
    assert [r.width for r in processed.renditions[1:]] == webps
    assert_sound(processed)


def test_a_very_tall_image_fits_within_webp_limits():
    processed = images.process(encode(Image.new('L', (100, 20000), 90), 'PNG'))
    assert [(r.width, r.height) for r in processed.renditions] == [(82, 16383)] * 2
    assert_sound(processed)


def camera_exif(orientation=1):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = 'CameraMaker', 'ModelX', orientation
    exif.get_ifd(0x8825).update({1: 'N', 2: (51.0, 30.0, 12.5), 3: 'W', 4: (0.0, 7.0, 39.0)})
    return exif


@pytest.mark.parametrize('fmt', ['JPEG', 'WEBP', 'PNG'])
def test_gps_exif_xmp_and_comments_are_dropped(fmt):
    params = {'exif': camera_exif(), 'comment': b'secret comment'}
    if fmt == 'PNG':
        params['pnginfo'] = info = PngImagePlugin.PngInfo()
        info.add_itxt('XML:com.adobe.xmp', XMP.decode())
        info.add_text('Comment', 'secret comment')
    else:
        params['xmp'] = XMP
    data = encode(photo((1000, 500)), fmt, **params)
    assert opened(data).getexif().get_ifd(0x8825)[1] == 'N'  # the fixture has GPS
    assert_sound(images.process(data))


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'WEBP'])
def test_orientation_6_turns_the_picture_upright(fmt):
    processed = images.process(encode(halves((400, 200), 'red', 'blue', 'RGB'), fmt,
                                      exif=camera_exif(6)))
    for r in processed.renditions:
        upright = opened(r.data).convert('RGB')
        assert upright.size == (200, 400)
        # Orientation 6: the camera was turned clockwise, so the left half goes on top.
        top, bottom = upright.getpixel((100, 50)), upright.getpixel((100, 350))
        assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]


@pytest.mark.parametrize('orientation', range(1, 9))
def test_every_orientation_matches_exif_transpose(orientation):
    data = encode(photo((60, 30)), 'PNG', exif=camera_exif(orientation))
    expected = ImageOps.exif_transpose(opened(data)).convert('RGB')
    fallback = images.process(data).renditions[0]
    assert opened(fallback.data).convert('RGB').tobytes() == expected.tobytes()


@pytest.mark.parametrize('size, orientation, decoded, fallback', [
    ((6400, 1000), 1, (1600, 250), (1600, 250)),
    # Upright it is 2000 x 4000: decoding at 1/2 would leave it 1000 wide.
    ((4000, 2000), 6, (4000, 2000), (1600, 3200))])
def test_a_big_jpeg_is_decoded_at_the_least_scale_enough(monkeypatch, size, orientation,
                                                          decoded, fallback):
    loaded, load = [], JpegImagePlugin.JpegImageFile.load
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, 'load',
                        lambda self: loaded.append(self.size) or load(self))
    data = encode(Image.new('RGB', size, 'teal'), 'JPEG', exif=camera_exif(orientation))
    processed = images.process(data)
    assert loaded[0] == decoded and (processed.width, processed.height) == fallback


def srgb_with_red_and_blue_swapped():
    """An RGB profile whose red primary is sRGB's blue (and the other way round)."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes())
    count = struct.unpack('>I', profile[128:132])[0]
    entries = {bytes(profile[132 + 12 * i:136 + 12 * i]): 136 + 12 * i for i in range(count)}
    red, blue = entries[b'rXYZ'], entries[b'bXYZ']
    profile[red:red + 8], profile[blue:blue + 8] = profile[blue:blue + 8], profile[red:red + 8]
    return bytes(profile)


@pytest.mark.parametrize('fmt, icc, channel', [
    *((fmt, srgb_with_red_and_blue_swapped(), 2) for fmt in ('JPEG', 'PNG', 'WEBP')),
    # Unusable (for Lab, or not a profile at all): ignored, the pixels taken as sRGB.
    ('PNG', ImageCms.ImageCmsProfile(ImageCms.createProfile('LAB')).tobytes(), 0),
    ('JPEG', b'not a profile' * 20, 0)])
def test_an_embedded_profile_is_applied_then_dropped(fmt, icc, channel):
    data = encode(Image.new('RGB', (64, 64), (200, 0, 0)), fmt, icc_profile=icc)
    for r in images.process(data).renditions:
        rgb = opened(r.data).convert('RGB').getpixel((32, 32))
        assert rgb.index(max(rgb)) == channel and max(rgb) > 150  # swapped: "red" is blue
        assert_bare(r)


def test_a_cmyk_jpeg_comes_out_rgb():
    data = encode(Image.new('CMYK', (800, 400), (0, 255, 255, 0)), 'JPEG')
    assert opened(data).mode == 'CMYK' and 'adobe' in opened(data).info  # inverted
    processed = images.process(data)
    for r in processed.renditions:
        red, green, blue = opened(r.data).getpixel((200, 100))  # an RGB image's pixel
        assert red > 230 and green < 30 and blue < 30
    assert_sound(processed)


@pytest.mark.parametrize('fmt', ['PNG', 'WEBP', 'GIF'])
def test_transparency_is_kept(fmt):
    data = encode(halves((600, 300)), fmt)
    for r in images.process(data).renditions:
        im = opened(r.data).convert('RGBA')
        alpha = [im.getpixel((im.width * eighths // 8, im.height // 2))[3] for eighths in (1, 7)]
        assert alpha == [0, 255]


def test_opaque_alpha_is_dropped_and_16_bit_grey_scaled_not_clipped():
    processed = images.process(encode(photo((600, 300)).convert('RGBA'), 'PNG'))
    assert {opened(r.data).mode for r in processed.renditions} == {'RGB'}
    data = encode(Image.new('I;16', (64, 64), 40000), 'PNG')
    level = opened(images.process(data).renditions[0].data).convert('L').getpixel((1, 1))
    assert abs(level - 40000 / 256) <= 2


def test_an_mpo_is_a_still_jpeg():
    data = encode(Image.new('RGB', (640, 480), 'red'), 'MPO', save_all=True,
                  append_images=[Image.new('RGB', (640, 480), 'blue')])
    processed = images.process(data)
    assert (opened(data).format, processed.kind, processed.animated) == ('MPO', 'jpeg', False)
    assert opened(processed.renditions[0].data).getpixel((5, 5))[0] > 230


@pytest.mark.parametrize('fmt, name', [('GIF', 'GIF'), ('WEBP', 'WebP'), ('PNG', 'PNG')])
def test_an_animation_is_kept(fmt, name):
    processed = images.process(animation(fmt, size=(1200, 600)))
    assert processed.animated and processed.note == (
        'Animated %s: the animation is kept, at most 960 pixels wide.' % name)
    assert [(r.suffix, r.ext, r.width) for r in processed.renditions] == [
        ('', images.TYPES[processed.kind][1], 960), ('-960', 'webp', 960)]
    for r in processed.renditions:
        im = opened(r.data)
        assert (im.size, im.n_frames, im.info.get('loop')) == ((960, 480), 3, 0)
        for index, duration in enumerate((100, 200, 300)):
            im.seek(index)
            rgb = im.convert('RGB').getpixel((5, 5))  # red, then green, then blue
            assert (rgb.index(max(rgb)), round(im.info['duration'])) == (index, duration)
        assert images.verify(r.data, r.ext) == (960, 480)
        assert_bare(r)


def test_a_gif_that_plays_once_still_plays_once():
    frames = [Image.new('L', (40, 40), level) for level in (0, 128, 255)]
    data = encode(frames[0], 'GIF', save_all=True, append_images=frames[1:], duration=100)
    gif, webp = images.process(data).renditions
    assert 'loop' not in opened(gif.data).info and opened(webp.data).info['loop'] == 1


@pytest.mark.parametrize('fmt', ['PNG', 'WEBP'])
def test_an_animation_can_turn_pixels_transparent(fmt):
    data = encode(Image.new('RGBA', (40, 40), 'red'), fmt, save_all=True,
                  append_images=[halves()], duration=100)
    for r in images.process(data).renditions:
        im = opened(r.data)
        im.seek(1)
        assert im.convert('RGBA').getpixel((5, 5))[3] == 0


def test_gif_frames_are_cleared_first_when_pixels_turn_transparent():
    # Pillow writes a GIF frame as its changes over the previous frame, which cannot
    # turn a pixel transparent. (Checked on the writer: Pillow reads GIF disposal 2 as
    # "the background colour", browsers as transparent, so its reading proves nothing.)
    red, blue = (Image.new('RGBA', (40, 40), colour) for colour in ('red', 'blue'))
    gif = opened(images._encode('gif', [red, halves()], [100, 100], 0))
    assert gif.n_frames == 2 and gif.disposal_method == 2
    opaque = opened(images._encode('gif', [red, blue], [100, 100], 0))
    assert opaque.n_frames == 2 and opaque.disposal_method != 2


def test_a_gif_frame_past_its_screen_keeps_only_the_first():
    first, second = Image.new('RGB', (4, 4), 'red'), Image.new('RGB', (4, 4), 'red')
    second.putpixel((3, 3), (0, 0, 255))
    data = encode(first, 'GIF', save_all=True, append_images=[second], duration=100)
    at = data.index(b',\x03\x00\x03\x00\x01\x00\x01\x00')  # the second frame, at (3, 3)
    data = data[:at + 1] + b'\x0a' + data[at + 2:]  # now at (10, 3): past the 4 x 4 screen
    processed = images.process(data)
    assert not processed.animated and processed.width == 4
    assert processed.note == ('Animated GIF: only the first frame is kept, as its frames '
                              'differ in size.')


def test_too_many_frames_keep_only_the_first():
    colours = [(i % 256, i // 256, 0) for i in range(301)]
    data = animation('GIF', size=(10, 10), colours=colours, duration=50)
    processed = images.process(data)
    assert not processed.animated and processed.note == (
        'Animated GIF: only the first frame is kept, as it has 301 frames (the limit is 300).')
    assert all(getattr(opened(r.data), 'n_frames', 1) == 1 for r in processed.renditions)
    assert refusal(images.verify, data, 'gif').startswith(
        'That animation is too long: it has 301 frames')


def test_too_many_animated_pixels_keep_only_the_first(monkeypatch):
    monkeypatch.setattr(images, 'MAX_ANIMATION_PIXELS', 2_000_000)
    processed = images.process(animation('WEBP', size=(1000, 1000)))
    assert not processed.animated and processed.note == (
        'Animated WebP: only the first frame is kept, as its 3 frames come to 3.0 '
        'megapixels (the limit is 2).')


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_REFUSED = 'SVG images are not accepted: upload a PNG, JPEG, WebP or GIF.'
OTHER_REFUSED = 'That file is not a JPEG, PNG, WebP or GIF image.'


@pytest.mark.parametrize('data, message', [
    *((svg, SVG_REFUSED) for svg in (
        SVG, b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG, b'\xef\xbb\xbf' + SVG,
        b' \r\n\t ' + SVG, b'\xef\xbb\xbf  <?xml version="1.0"?>' + SVG,
        b'<!-- made by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">' + SVG,
        b'<SVG XMLNS="http://www.w3.org/2000/svg"/>',
        ('\ufeff' + SVG.decode()).encode('utf-16-le'))),
    *((encode(photo((40, 40)), fmt), OTHER_REFUSED) for fmt in ('BMP', 'TIFF', 'ICO', 'PCX')),
    *((other, OTHER_REFUSED) for other in (
        b'Just some text, with a .jpg name.\n', b'', b'<html><body>hello</body></html>',
        b'RIFF\x00\x00\x00\x00WAVEfmt ', b'\xff\xd8', b'GIF8'))])
def test_svg_and_anything_else_are_refused(data, message):
    assert {refusal(images.sniff, data), refusal(images.process, data),
            refusal(images.verify, data, 'png')} == {message}


def test_the_type_comes_from_the_bytes_not_the_name():
    data = encode(photo((300, 200)), 'PNG')  # uploaded as "holiday.jpg", image/jpeg
    assert images.sniff(data) == 'png' and images.process(data).kind == 'png'
    assert refusal(images.verify, data, 'jpg') == (
        'That file holds a PNG image, but its name ends in .jpg.')


def damaged():
    sample = {kind: encode(photo((300, 200)), fmt) for kind, fmt in FORMATS.items()}
    for kind, data in sample.items():
        yield pytest.param(data[:len(data) // 2], id=kind + '-half')
        yield pytest.param(data[:64], id=kind + '-head')
    yield pytest.param(b'\xff\xd8\xff' + sample['png'], id='jpeg-header-on-png')
    yield pytest.param(sample['png'][:8] + sample['jpeg'], id='png-signature-on-jpeg')
    yield pytest.param(sample['png'][:40] + bytes(20) + sample['png'][60:], id='png-bad-crc')


@pytest.mark.parametrize('data', list(damaged()))
def test_damaged_or_cut_short_is_refused(data):
    assert {refusal(images.process, data), refusal(images.verify, data, images.sniff(data))} == {
        'That image file is damaged or cut short.'}


def test_too_many_bytes_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(Image, 'open', pytest.fail)
    data = b'\xff\xd8\xff' + bytes(images.MAX_BYTES)
    assert {refusal(images.process, data), refusal(images.verify, data, 'jpg')} == {
        'That file is larger than 10 MiB.'}
    assert images.sniff(data[:images.MAX_BYTES]) == 'jpeg'


# Just over the limit is rounded up: never "(it is 40.0)".
@pytest.mark.parametrize('size, shown', [((8000, 6000), '48.0'), ((40_000_001, 1), '40.1')])
def test_too_many_pixels_is_refused_without_decoding(monkeypatch, size, shown):
    data = png_claiming(*size)
    monkeypatch.setattr(ImageFile.ImageFile, 'load', pytest.fail)
    monkeypatch.setattr(Image.Image, 'load', pytest.fail)
    assert {refusal(images.process, data), refusal(images.verify, data, 'png')} == {
        'That image is larger than 40 megapixels (it is %s).' % shown}


@pytest.mark.parametrize('data, why', [
    (png_claiming(20000, 20000), 'it would unpack to far more than 40 megapixels'),  # Pillow's
    (png_claiming(10000, 9000), 'it would unpack to far more than 40 megapixels'),  # error, warning
    (png_claiming(64, 64, chunk(b'zTXt', b'Comment\x00\x00' + zlib.compress(bytes(1 << 23)))),
     'its metadata would unpack to far more')])
def test_a_decompression_bomb_is_refused(data, why):
    assert refusal(images.process, data) == (
        'That image looks like a decompression bomb: %s.' % why)


def test_digest():
    assert images.digest(b'hello') == '2cf24dba5fb0a30e26e83b2ac5b9e29e'  # sha256's, stable
    assert images.digest(b'hello!') != images.digest(b'hello') and len(images.digest(b'')) == 32


@pytest.mark.parametrize('kind', FORMATS)
def test_mutated_bytes_are_processed_or_refused(kind):
    """Whatever the damage, Pillow's exceptions never escape."""
    rng, data = random.Random(kind), encode(photo((64, 48)), FORMATS[kind])
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        for check in (images.process, lambda data: images.verify(data, kind)):
            try:
                check(bytes(mutated))
            except ImageRefused:
                pass
