"""The HTML of images in a post's body: stored images made responsive, and what a
page needs to know about the images it shows.

Runs on the sanitized HTML (blog.markdown), when a post is saved. nh3 writes every
`<img>` as `<img src="..." alt="..." title="...">` with each value in double quotes
and escaped, so the tags can be read with a regular expression and rebuilt from
their own (already escaped) values. An image of ours (`/media/<key>...`, any of its
sizes) becomes the fallback file with its `width` and `height` (no layout shift
while it loads), a `srcset` of its WebP widths, `sizes` for the text column, and
lazy loading; an address under /media that names no stored image is left as it is
(it shows as a broken image, and the editor's preview shows that before saving).
"""

import html
import re

from blog.media_store import NAME

IMG = re.compile(r'<img\b([^>]*)>')
ATTRIBUTE = re.compile(r'\s([a-z-]+)="([^"]*)"')
MEDIA_PREFIX = '/media/'
# The text column (.post-body: 65ch of the serif face, about 40rem) or the screen.
SIZES = '(min-width: 42rem) 40rem, calc(100vw - 2rem)'
IMAGES_MAX = 500  # images made responsive in one body (more stay as written)


def _attributes(tag_inside):
    return dict(ATTRIBUTE.findall(tag_inside))


def media_key(src):
    """The content address in a /media address (any size of the image), else None."""
    if not src.startswith(MEDIA_PREFIX):
        return None
    match = NAME.match(src[len(MEDIA_PREFIX):])
    return match.group(1) if match else None


def local_keys(body_html):
    """The keys of the stored images `body_html` shows, in order, each once."""
    keys = []
    for match in IMG.finditer(body_html or ''):
        key = media_key(html.unescape(_attributes(match.group(1)).get('src', '')))
        if key is not None:
            keys.append(key)
    return list(dict.fromkeys(keys))[:IMAGES_MAX]


def image_tag(image, alt, title=None):
    """The responsive <img> for the stored `image` (escaped `alt` and `title`)."""
    base = MEDIA_PREFIX + image.key
    srcset = ', '.join('%s-%d.webp %dw' % (base, width, width) for width in image.webp_widths)
    parts = ['<img src="%s%s"' % (MEDIA_PREFIX, image.filename), ' alt="%s"' % alt]
    if title is not None:
        parts.append(' title="%s"' % title)
    parts.append(' width="%d" height="%d"' % (image.width, image.height))
    if srcset:
        parts.append(' srcset="%s" sizes="%s"' % (srcset, SIZES))
    parts.append(' loading="lazy" decoding="async">')
    return ''.join(parts)


def responsive(body_html, images):
    """`body_html` with each stored image (`images`: {key: Image row}) made responsive."""
    done = [0]

    def rebuild(match):
        attributes = _attributes(match.group(1))
        key = media_key(html.unescape(attributes.get('src', '')))
        image = images.get(key) if key is not None else None
        if image is None or done[0] >= IMAGES_MAX:
            return match.group(0)
        done[0] += 1
        return image_tag(image, attributes.get('alt', ''), attributes.get('title'))

    return IMG.sub(rebuild, body_html or '')


def first_image(body_html):
    """(src, alt, width, height) of the first image `body_html` shows, or None:
    src as written (a /media path or an https URL), width and height None when
    the tag has none."""
    for match in IMG.finditer(body_html or ''):
        attributes = {name: html.unescape(value)
                      for name, value in _attributes(match.group(1)).items()}
        src = attributes.get('src', '')
        if src.startswith(MEDIA_PREFIX) or src.startswith('https://'):
            width, height = attributes.get('width'), attributes.get('height')
            return (src, attributes.get('alt', ''),
                    int(width) if width and width.isdigit() else None,
                    int(height) if height and height.isdigit() else None)
    return None


def has_external_images(body_html):
    """Whether `body_html` shows an image from another site (the page's CSP then
    has to allow https: images)."""
    for match in IMG.finditer(body_html or ''):
        src = html.unescape(_attributes(match.group(1)).get('src', ''))
        if not src.startswith('/') or src.startswith('//'):
            return True
    return False


def page_image(body_html, site_url):
    """The first image, as a page's OpenGraph image and its feed entry's thumbnail:
    {'url' (absolute), 'alt', 'width', 'height'} or None."""
    first = first_image(body_html)
    if first is None:
        return None
    src, alt, width, height = first
    return {'url': site_url + src if src.startswith(MEDIA_PREFIX) else src, 'alt': alt,
            'width': width, 'height': height}


def absolute(body_html, site_url):
    """`body_html` with the addresses of stored images (src and srcset) absolute,
    for feeds, which readers show away from the site."""
    def rebuild(match):
        return (match.group(0)
                .replace('="' + MEDIA_PREFIX, '="%s%s' % (site_url, MEDIA_PREFIX))
                .replace(', ' + MEDIA_PREFIX, ', %s%s' % (site_url, MEDIA_PREFIX)))
    return IMG.sub(rebuild, body_html or '')
