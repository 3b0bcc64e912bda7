"""Times blog.images.process on a 12-megapixel photo-like JPEG (4000 x 3000, quality 90,
EXIF with GPS and an orientation), each run in a fresh child process, and prints a
Markdown table for benchmarks/README.md: wall time (median, min, max), the child's peak
resident memory and how far it rose over the child's baseline, and each rendition's size.

    python benchmarks/images.py [--runs 5] [--orientations 1,6]

Orientation 1 is a landscape photo, decoded at 1/2 scale (2000 x 1500 still covers the
1600-wide rendition); 6 is a portrait one from the same sensor, decoded in full (3000
upright pixels halved would be 1500, short of 1600).
"""

import argparse
import io
import multiprocessing
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from PIL import Image, ImageFilter, features  # noqa: E402

from blog import images  # noqa: E402

SIZE = (4000, 3000)
MIB = 1024 * 1024


def photo_jpeg(orientation):
    """A 4000 x 3000 JPEG that does not compress trivially: gradients, blurred noise, grain."""
    width, height = SIZE
    horizontal = Image.linear_gradient('L').rotate(90).resize(SIZE)
    vertical = Image.linear_gradient('L').resize(SIZE)
    radial = Image.radial_gradient('L').resize(SIZE)
    # Per channel: blotches the size of leaves and stones, then sensor grain on top.
    bands = []
    for base in (horizontal, vertical, radial):
        texture = Image.effect_noise((width // 4, height // 4), 70).resize(
            SIZE, Image.Resampling.BICUBIC)
        grain = Image.effect_noise(SIZE, 20).filter(ImageFilter.GaussianBlur(0.5))
        bands.append(Image.blend(Image.blend(base, texture, 0.5), grain, 0.3))
    picture = Image.merge('RGB', bands)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = 'BenchCam', 'Model 12', orientation
    exif.get_ifd(0x8825).update({1: 'N', 2: (48.0, 51.0, 29.6), 3: 'E', 4: (2.0, 17.0, 40.2)})
    out = io.BytesIO()
    picture.save(out, 'JPEG', quality=90, exif=exif)
    return out.getvalue()


def status(field):
    """A field of /proc/self/status, in bytes (VmRSS, VmHWM)."""
    with open('/proc/self/status') as lines:
        for line in lines:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def child(data, results):
    """One run, in a fresh process: the time and memory process() took."""
    try:
        # Reset the peak (VmHWM) to the current RSS, so it measures this run only.
        with open('/proc/self/clear_refs', 'w') as clear:
            clear.write('5')
    except OSError:
        pass  # not Linux >= 4.0: the peak then includes start-up, baseline still subtracted
    baseline = status('VmRSS')
    start = time.perf_counter()
    processed = images.process(data)
    elapsed = time.perf_counter() - start
    peak = status('VmHWM')
    renditions = [('%s.%s' % (r.suffix or '(fallback)', r.ext), r.width, r.height, len(r.data))
                  for r in processed.renditions]
    results.put((elapsed, baseline, peak, renditions))


def run(data, runs):
    """`runs` children, one after another; their (time, baseline, peak, renditions)."""
    context = multiprocessing.get_context('spawn')
    done = []
    for _ in range(runs):
        results = context.Queue()
        worker = context.Process(target=child, args=(data, results))
        worker.start()
        done.append(results.get(timeout=300))
        worker.join()
        if worker.exitcode:
            raise SystemExit('a child failed with exit code %d' % worker.exitcode)
    return done


def cpu():
    try:
        with open('/proc/cpuinfo') as lines:
            for line in lines:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--orientations', default='1,6',
                        help='EXIF orientations to time, comma-separated (default 1,6)')
    args = parser.parse_args()
    orientations = [int(value) for value in args.orientations.split(',')]
    print('%d CPUs (%s), Python %s, Pillow %s, libjpeg-turbo %s, libwebp %s, littlecms %s\n'
          % (os.cpu_count(), cpu(), platform.python_version(), Image.__version__,
             features.version('libjpeg_turbo'), features.version('webp'),
             features.version('littlecms2')))
    timings, outputs = [], []
    for orientation in orientations:
        data = photo_jpeg(orientation)
        done = run(data, args.runs)
        seconds = [elapsed for elapsed, _baseline, _peak, _renditions in done]
        peaks = [peak for _elapsed, _baseline, peak, _renditions in done]
        rises = [peak - baseline for _elapsed, baseline, peak, _renditions in done]
        timings.append((orientation, len(data), seconds, peaks, rises))
        outputs.append((orientation, done[0][3]))

    print('| orientation | input | runs | median s | min s | max s | peak RSS MiB |'
          ' rise over baseline MiB (median, max) |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    for orientation, size, seconds, peaks, rises in timings:
        print('| %d | %.2f MB | %d | %.2f | %.2f | %.2f | %.0f | %.0f, %.0f |' % (
            orientation, size / 1e6, len(seconds), statistics.median(seconds), min(seconds),
            max(seconds), statistics.median(peaks) / MIB, statistics.median(rises) / MIB,
            max(rises) / MIB))
    print('\n| orientation | rendition | width × height | bytes |')
    print('|---|---|---:|---:|')
    for orientation, renditions in outputs:
        for name, width, height, size in renditions:
            print('| %d | `%s` | %d × %d | %s |' % (orientation, name, width, height,
                                                   format(size, ',')))


if __name__ == '__main__':
    main()
