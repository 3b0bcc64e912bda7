"""Image files for the upload tests, made with Pillow (no binary files in the tree)."""

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
       b'02/22-rdf-syntax-ns#"><rdf:Description about="" secret="home-address"/></rdf:RDF>'
       b'</x:xmpmeta>')


def photo(width=1200, height=800, colour=(200, 80, 40)):
    """An RGB image with some structure (a gradient), so encoders have work to do."""
    image = Image.new('RGB', (width, height), colour)
    for x in range(0, width, max(1, width // 16)):
        image.paste((x * 255 // width, 120, 255 - x * 255 // width),
                    (x, 0, min(width, x + width // 32 + 1), height))
    return image


def jpeg_with_gps(width=1200, height=800, orientation=1):
    """A JPEG whose EXIF holds a camera, an orientation and a GPS position, with XMP."""
    exif = Image.Exif()
    exif[MAKE] = 'SpyCam'
    exif[MODEL] = 'Model 7'
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = 'N'
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = 'W'
    gps[4] = (0.0, 7.0, 39.0)
    out = io.BytesIO()
    photo(width, height).save(out, 'JPEG', quality=90, exif=exif, xmp=XMP)
    return out.getvalue()


def noisy_jpeg(width=2000, height=1500):
    """A JPEG of noise: megabytes, since noise does not compress."""
    noise = [Image.effect_noise((width, height), 90) for _ in range(3)]
    out = io.BytesIO()
    Image.merge('RGB', noise).save(out, 'JPEG', quality=92)
    return out.getvalue()


def png(width=640, height=480, mode='RGBA'):
    """A PNG (with alpha by default)."""
    out = io.BytesIO()
    image = photo(width, height).convert(mode)
    image.save(out, 'PNG')
    return out.getvalue()


def gif_animation(frames=3, size=(120, 80)):
    """An animated GIF of `frames` frames."""
    out = io.BytesIO()
    pictures = [Image.new('P', size, n * 40) for n in range(frames)]
    pictures[0].save(out, 'GIF', save_all=True, append_images=pictures[1:], duration=100,
                     loop=0)
    return out.getvalue()


def png_claiming(width, height):
    """A small PNG whose header claims `width` x `height` (its data cut short):
    what the pixel limit must refuse without decoding."""
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
            + chunk(b'IDAT', zlib.compress(b'\x00' * 1000)) + chunk(b'IEND', b''))


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
