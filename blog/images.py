"""Uploaded images, checked, decoded and re-encoded: an upload is never served as sent.

JPEG, PNG, WebP and GIF are accepted, the type read from the bytes, never the name or
the client's content type; SVG and all else is refused, as are files over MAX_BYTES,
images over MAX_PIXELS and decompression bombs, each with a sentence for the form
(`ImageRefused`). No database, web or file system here: bytes in, bytes out.

`process` turns the picture upright (EXIF orientation), converts it to sRGB (with its
ICC profile, if any), drops all metadata (EXIF, GPS, XMP, comments, ICC), and makes a
fallback in the original format, min(width, 1600) wide (a still GIF stays a palette
GIF, not a PNG: the file type is what was sent), plus WebPs at each of WIDTHS the image
is as wide as (never upscaled), or one at its own width if narrower. Each fits within
MAX_SIDE both ways, so a very tall image is narrower than asked: use `Rendition.width`.
Alpha is kept for PNG, WebP and GIF unless fully opaque; grey comes out RGB. An
animation (GIF, WebP, APNG) within MAX_FRAMES and MAX_ANIMATION_PIXELS is kept, as a
fallback and a WebP at most ANIMATED_WIDTH wide; else its first frame is. See `note`.

Pillow's globals (MAX_IMAGE_PIXELS, LOAD_TRUNCATED_IMAGES) are left alone: two apps in
one process must not share settings. Its DecompressionBombWarning becomes a refusal
with `warnings.catch_warnings`, process-wide rather than per-thread state; the pixel
check after `Image.open` refuses those images without it.
"""

import contextlib
import hashlib
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageCms

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
WIDTHS = (480, 960, 1600)
# An animation's frames are decoded at full size, kept resized: this bounds the work
# (and, at 4 bytes a pixel, the memory) one upload costs.
MAX_FRAMES = 300
# 300 frames of 800x600 (144 MP) took 15 s and 700 MiB: an upload's work stays bounded.
MAX_ANIMATION_PIXELS = 50_000_000
ANIMATED_WIDTH = 960
MAX_SIDE = 16383  # libwebp refuses images wider or taller

# Animated WebP at method 0 (Pillow's default for it): method 4 took 2.7 times as long
# for 3% less. PNG's optimize=True took twice as long and saved nothing on a photo.
ENCODERS = {'jpeg': {'quality': 85, 'optimize': True, 'progressive': True},
            'png': {'optimize': False}, 'webp': {'quality': 80, 'method': 4}, 'gif': {}}
ANIMATED_WEBP = {'quality': 80, 'method': 0}

# kind: (the formats Pillow may report, extension, content type, name for people).
# A JPEG with an MPF block (phones' depth and gain maps) opens as Pillow's 'MPO'.
TYPES = {
    'jpeg': (('JPEG', 'MPO'), 'jpg', 'image/jpeg', 'JPEG'),
    'png': (('PNG',), 'png', 'image/png', 'PNG'),
    'webp': (('WEBP',), 'webp', 'image/webp', 'WebP'),
    'gif': (('GIF',), 'gif', 'image/gif', 'GIF'),
}
EXT_KINDS = {'jpg': 'jpeg', 'jpeg': 'jpeg', 'png': 'png', 'webp': 'webp', 'gif': 'gif'}
SIGNATURES = ((b'\xff\xd8\xff', 'jpeg'), (b'\x89PNG\r\n\x1a\n', 'png'),
              (b'GIF87a', 'gif'), (b'GIF89a', 'gif'))

TOO_MANY_BYTES = 'That file is larger than 10 MiB.'
TOO_MANY_PIXELS = 'That image is larger than 40 megapixels (it is %s).'
SVG = 'SVG images are not accepted: upload a PNG, JPEG, WebP or GIF.'
NOT_AN_IMAGE = 'That file is not a JPEG, PNG, WebP or GIF image.'
DAMAGED = 'That image file is damaged or cut short.'
BOMB = 'That image looks like a decompression bomb: it would unpack to far more than 40 megapixels.'
BOMB_METADATA = 'That image looks like a decompression bomb: its metadata would unpack to far more.'
WRONG_TYPE = 'That file holds a %s image, but its name ends in .%s.'
TOO_LONG = 'That animation is too long: %s.'
KEPT = 'Animated %s: the animation is kept, at most %d pixels wide.'
FIRST_FRAME = 'Animated %s: only the first frame is kept, as %s.'

# What Pillow's decoders raise on bad input (UnidentifiedImageError is an OSError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                 TypeError, struct.error, zlib.error)
# EXIF orientation -> the transposition that makes it upright (as ImageOps.exif_transpose).
_T = Image.Transpose
TRANSPOSE = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE,
             6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}


class ImageRefused(ValueError):
    """Why an upload was refused; str(exc) is a sentence for the form."""


@dataclass(frozen=True)
class Rendition:
    """One encoded file: its name is the upload's key + suffix + '.' + ext."""

    suffix: str
    ext: str
    content_type: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Processed:
    """An accepted upload: its real kind, the fallback's size, and the renditions."""

    kind: str
    width: int
    height: int
    animated: bool
    note: str
    renditions: tuple[Rendition, ...]  # fallback first, then WebP widths ascending


def digest(data: bytes) -> str:
    """Content address of the uploaded bytes: first 32 hex chars of sha256."""
    return hashlib.sha256(data).hexdigest()[:32]


def sniff(data: bytes) -> str:
    """The real type from the leading bytes ('jpeg','png','webp','gif'), else ImageRefused."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'webp'
    if _is_svg(data):
        raise ImageRefused(SVG)
    raise ImageRefused(NOT_AN_IMAGE)


def _is_svg(data):
    # Markup with an <svg element near the top (a licence comment or a DOCTYPE may come
    # first), in UTF-8 or, after its BOM, UTF-16; both codecs drop the BOM.
    head = bytes(data[:16384])
    codec = 'utf-16' if head[:2] in (b'\xff\xfe', b'\xfe\xff') else 'utf-8-sig'
    text = head.decode(codec, 'replace').lstrip().lower()
    return text.startswith('<') and ('<svg' in text or '<!doctype svg' in text)


def process(data: bytes) -> Processed:
    """Check, decode and re-encode one upload (raises ImageRefused)."""
    kind = _checked_kind(data)
    animation = picture = full = None
    with _decoding():
        img, count = _open(data, kind)
        reason = _too_much_animation(count, img.size) if count > 1 else ''
        orientation = _orientation(img)
        if count > 1 and not reason:
            animation = _decode_animation(img, kind, orientation, count)
            if animation is None:
                reason = 'its frames differ in size'
                img, _count = _open(data, kind)
        if animation is None:
            picture, full = _decode_still(img, kind, orientation)
        img.close()  # the decoded original (48 MB for 12 MP, at 4 bytes a pixel): not kept
    name = TYPES[kind][3]
    if animation is not None:
        return _encode_animation(kind, *animation, note=KEPT % (name, ANIMATED_WIDTH))
    return _encode_still(kind, picture, full, FIRST_FRAME % (name, reason) if reason else '')


def verify(data: bytes, ext: str) -> tuple[int, int]:
    """Check stored bytes are a sound image of the type `ext` names, within the limits.

    Returns the (width, height) as stored; nothing is re-encoded (imports keep files byte
    for byte). Every frame is decoded, JPEGs at 1/8 scale: Pillow's verify() checks only
    PNG's checksums."""
    kind = _checked_kind(data)
    ext = ext.lower().lstrip('.')
    if EXT_KINDS.get(ext) != kind:
        raise ImageRefused(WRONG_TYPE % (TYPES[kind][3], ext))
    with _decoding():
        img, _count = _open(data, kind)
        size = img.size
        img.verify()  # first: it needs the file untouched, and leaves the image unusable
        img, count = _open(data, kind)
        reason = _too_much_animation(count, size) if count > 1 else ''
        if reason:
            raise ImageRefused(TOO_LONG % reason)
        if kind == 'jpeg':
            img.draft('RGB', (max(1, size[0] // 8), max(1, size[1] // 8)))
        for index in range(count):
            img.seek(index)
            _check_pixels(img.size)
            img.load()
    return size


def _checked_kind(data):
    if len(data) > MAX_BYTES:  # before anything reads the bytes
        raise ImageRefused(TOO_MANY_BYTES)
    return sniff(data)


def _megapixels(pixels):
    # Rounded up, so an image just over the limit never reads "40.0".
    return '%.1f' % (math.ceil(pixels / 100_000) / 10)


def _check_pixels(size):
    width, height = size
    if width < 1 or height < 1:
        raise ImageRefused(DAMAGED)
    if width * height > MAX_PIXELS:
        raise ImageRefused(TOO_MANY_PIXELS % _megapixels(width * height))


@contextlib.contextmanager
def _decoding():
    """Pillow's errors and bomb warnings, while decoding, as ImageRefused."""
    try:
        with warnings.catch_warnings():
            # Pillow's other warnings (corrupt EXIF, bad MPO) concern metadata dropped anyway.
            warnings.simplefilter('ignore')
            warnings.simplefilter('error', Image.DecompressionBombWarning)
            yield
    except ImageRefused:
        raise  # a ValueError too: not to be caught as a decoding error below
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(BOMB) from exc
    except DECODE_ERRORS as exc:
        # PNG text and ICC chunks are inflated with a cap; going past it means a bomb.
        if isinstance(exc, ValueError) and 'MAX_TEXT_' in str(exc):
            raise ImageRefused(BOMB_METADATA) from exc
        raise ImageRefused(DAMAGED) from exc


def _open(data, kind):
    """(image, frame count): the header parsed by `kind`'s plugin, the size checked."""
    formats = TYPES[kind][0]
    img = Image.open(io.BytesIO(data), formats=formats[:1])
    if img.format not in formats:
        raise ImageRefused(DAMAGED)
    _check_pixels(img.size)  # before anything decodes pixels (PNG's getexif() may)
    # An MPO's further pictures are previews, depth or gain maps, never an animation.
    return img, 1 if kind == 'jpeg' else getattr(img, 'n_frames', 1)


def _too_much_animation(count, size):
    """Why an animation of `count` frames of `size` is too much to keep, or ''."""
    if count > MAX_FRAMES:
        return 'it has %d frames (the limit is %d)' % (count, MAX_FRAMES)
    pixels = count * size[0] * size[1]
    if pixels > MAX_ANIMATION_PIXELS:
        return 'its %d frames come to %s megapixels (the limit is %d)' % (
            count, _megapixels(pixels), MAX_ANIMATION_PIXELS // 1_000_000)
    return ''


def _orientation(img):
    """The EXIF (or XMP) orientation, 1 when there is none."""
    try:
        value = img.getexif().get(0x0112, 1)
    except DECODE_ERRORS:
        # Broken EXIF costs the rotation, not the upload: it is dropped anyway.
        return 1
    return value if value in TRANSPOSE else 1


def _decode_still(img, kind, orientation):
    """The (first) picture at the fallback's size, upright, and its decoded size upright."""
    turned = orientation in (5, 6, 7, 8)
    if kind == 'jpeg':
        # Decode at the smallest DCT scale (1/2, 1/4, 1/8) still as wide as the widest
        # rendition once upright: a 12 MP landscape photo costs 1/4 of the memory.
        img.draft('RGB', (1, WIDTHS[-1]) if turned else (WIDTHS[-1], 1))
    img.load()
    full = img.size[::-1] if turned else img.size
    return _picture(img, _fit(full, WIDTHS[-1]), orientation, kind != 'jpeg'), full


def _decode_animation(img, kind, orientation, count):
    """(frames, durations in ms, plays) at the animation's size, or None if uneven."""
    size = img.size
    target = _fit(size[::-1] if orientation in (5, 6, 7, 8) else size, ANIMATED_WIDTH)
    plays = _plays(kind, img.info)
    frames, durations = [], []
    for index in range(count):
        img.seek(index)
        if img.size != size:  # a GIF frame reaching past the logical screen
            return None
        img.load()
        frames.append(_picture(img, target, orientation, True))
        # Within what GIF can store (and WebP's timestamps add up without overflowing).
        durations.append(min(65_535, max(0, round(img.info.get('duration') or 0))))
    return frames, durations, plays


def _plays(kind, info):
    """How many times the animation plays, 0 for forever."""
    loop = info.get('loop')
    if kind == 'gif':
        # No NETSCAPE block: the GIF plays once; its count is of repeats after that.
        return 1 if loop is None else (0 if loop == 0 else loop + 1)
    return min(65_535, loop or 0)  # WebP and APNG count plays (APNG's in 31 bits)


def _picture(frame, size, orientation, keep_alpha):
    """A new RGB(A) image of `frame` in sRGB, upright, `size` once upright; alpha only if
    `keep_alpha` and not opaque. Resized first: less to convert and turn, less held."""
    icc = frame.info.get('icc_profile')
    if frame.mode.startswith('I'):
        # Pillow's I;16 -> L conversion clips at 255 rather than scaling.
        frame = frame.convert('I').point(lambda value: value / 256).convert('L')
    elif frame.mode in ('P', 'PA', 'RGBa', 'La', '1'):
        # A palette's transparency becomes alpha here (and resizing needs real colours).
        frame = frame.convert({'La': 'LA', '1': 'L'}.get(frame.mode, 'RGBA'))
    elif frame.mode not in ('L', 'LA', 'RGB', 'RGBA', 'CMYK'):
        frame = frame.convert('RGB')
    # LA and RGBA are resized premultiplied, so no dark fringes at transparent edges.
    picture = _resize(frame, size[::-1] if orientation in (5, 6, 7, 8) else size)
    alpha = picture.getchannel('A') if picture.mode in ('LA', 'RGBA') else None
    if alpha is not None:
        picture = picture.convert(picture.mode[:-1])
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            # Made per call: littlecms profile handles are not safe to share across threads.
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB'))
            picture = ImageCms.profileToProfile(picture, source, srgb, outputMode='RGB')
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # unreadable, or for another colour space: the pixels are taken as sRGB
    # convert() copies even when the mode is already RGB, so the result never shares
    # pixels with the decoder's image (its next frame would overwrite them); and
    # Pillow's CMYK -> RGB handles Adobe's inverted CMYK JPEGs.
    picture = picture.convert('RGB')
    if keep_alpha and alpha is not None and alpha.getextrema()[0] < 255:
        picture.putalpha(alpha)
    return picture.transpose(TRANSPOSE[orientation]) if orientation in TRANSPOSE else picture


def _fit(size, width):
    """The size of a rendition at most `width` wide, within MAX_SIDE, aspect kept."""
    full_width, full_height = size
    new_width = min(width, full_width)
    new_height = max(1, round(full_height * new_width / full_width))
    if new_height > MAX_SIDE:
        new_height = MAX_SIDE
        new_width = max(1, round(full_width * MAX_SIDE / full_height))
    return new_width, new_height


def _resize(picture, size):
    return picture if picture.size == size else picture.resize(size, Image.Resampling.LANCZOS)


def _encode(kind, frames, durations=None, plays=1):
    """The bytes of one still or an animation, with no metadata at all."""
    params = dict(ANIMATED_WEBP if kind == 'webp' and len(frames) > 1 else ENCODERS[kind])
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations)
        if kind == 'gif':
            if plays != 1:
                params['loop'] = min(65_535, max(0, plays - 1))
            # Pillow writes GIF frames as changes over the previous one, which cannot
            # turn a pixel transparent: clear each frame first when any has alpha.
            if any(frame.mode == 'RGBA' and frame.getextrema()[3][0] < 255
                   for frame in frames):
                params['disposal'] = 2
        else:
            params['loop'] = min(65_535, plays)
    for frame in frames:
        # convert(), resize() and profileToProfile() carry info along (EXIF, XMP, ICC,
        # comments), and Pillow's JPEG, PNG and GIF writers save some of it by default.
        frame.info = {}
    out = io.BytesIO()
    frames[0].save(out, format=TYPES[kind][0][0], **params)
    return out.getvalue()


def _rendition(suffix, kind, image, data):
    return Rendition(suffix, *TYPES[kind][1:3], image.width, image.height, data)


def _encode_still(kind, base, full, note):
    """The fallback from `base` (at its size), the WebPs for an image `full` in size."""
    fallback = _rendition('', kind, base, _encode(kind, [base]))
    renditions = [fallback]
    # Each of WIDTHS below the image's own width, and that width (at most the last):
    # a 1200-wide photo gets 480, 960 and 1200, so a srcset always has the whole image.
    largest = min(full[0], WIDTHS[-1])
    widths = [width for width in WIDTHS if width < largest] + [largest]
    # A tall image's widths can collapse onto one size once fitted within MAX_SIDE.
    for size in sorted({_fit(full, width) for width in widths}):
        # From the fallback's pixels, at most 1600 wide: less to resample.
        image = _resize(base, size)
        # A WebP's fallback at this size would be the same bytes: same encoder, settings.
        data = fallback.data if (kind, size) == ('webp', base.size) else _encode('webp', [image])
        renditions.append(_rendition('-%d' % size[0], 'webp', image, data))
    return Processed(kind, base.width, base.height, False, note, tuple(renditions))


def _encode_animation(kind, frames, durations, plays, note):
    data = _encode(kind, frames, durations, plays)
    fallback = _rendition('', kind, frames[0], data)
    webp = data if kind == 'webp' else _encode('webp', frames, durations, plays)
    animated = _rendition('-%d' % frames[0].width, 'webp', frames[0], webp)
    return Processed(kind, fallback.width, fallback.height, True, note, (fallback, animated))
