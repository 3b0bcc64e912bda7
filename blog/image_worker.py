"""Uploads are processed (blog.images) in child processes, not in the server.

Decoding a 12-megapixel photo takes the better part of a second and 35-85 MiB, an
animation up to a few hundred; in the server that memory would stay with the process
after the upload (about 50 MiB more after each of the first few photos, measured), and
a pathological file would hold one of its threads. So each site keeps up to SLOTS
children (`python -m blog.image_worker BYTES`), started when first needed and kept
between uploads: each may use CHILD_MEMORY bytes of address space and CPU_SECONDS of
CPU per image (then the kernel stops it), and is replaced after JOBS_PER_CHILD images
so its own memory never piles up. An upload that finds every child busy waits up to
WAIT_SECONDS, then is told to send again.

The pipe carries frames: an 8-byte length, then that many bytes. One frame in (the
upload); one frame out, a JSON header (the refusal, or the result with each
rendition's size), and for a result the renditions' bytes in one more frame.
"""

import json
import logging
import os
import resource
import signal
import struct
import subprocess  # nosec B404
import sys
import threading

from blog import images

log = logging.getLogger('blog')

SLOTS = 2
WAIT_SECONDS = 20
CHILD_MEMORY = 1024 ** 3
CPU_SECONDS = 30
JOBS_PER_CHILD = 50
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LENGTH = struct.Struct('>Q')
TOO_MUCH = ('That image takes too much work to process (over %d s or %d MiB). Try a '
            'smaller or simpler one.' % (CPU_SECONDS, CHILD_MEMORY >> 20))
FAILED = 'The image could not be processed (the error is in the server log). Try again.'
BUSY = 'Other images are being processed right now. Send this one again in a moment.'
_OUT_OF_MEMORY = 3


class Workers:
    """One site's image children (blog.site.Site makes one)."""

    def __init__(self, slots=SLOTS):
        self.slots = threading.BoundedSemaphore(slots)
        self.idle = []  # list.pop/append are atomic

    def process(self, data):
        """blog.images.process(data) in a child: a Processed, or ImageRefused."""
        if not self.slots.acquire(timeout=WAIT_SECONDS):
            raise images.ImageRefused(BUSY)
        try:
            worker = self._take()
            try:
                return worker.process(data)
            finally:
                if worker.usable():
                    self.idle.append(worker)
                else:
                    worker.stop()
        finally:
            self.slots.release()

    def _take(self):
        while self.idle:
            worker = self.idle.pop()
            if worker.usable():
                return worker
            worker.stop()
        return _Child()

    def stop(self):
        """Stop every idle child (the site closes)."""
        while self.idle:
            self.idle.pop().stop()


def _read_frame(stream):
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def _write_frame(stream, data):
    stream.write(LENGTH.pack(len(data)) + data)
    stream.flush()


class _Child:
    """One `python -m blog.image_worker` process."""

    def __init__(self):
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, env.get('PYTHONPATH')]))
        self.jobs = 0
        try:
            # A fixed argv (this module, our own interpreter), no shell.
            self.proc = subprocess.Popen(  # noqa: S603  # nosec B603
                [sys.executable, '-m', 'blog.image_worker', str(CHILD_MEMORY)], cwd=ROOT,
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except (OSError, ValueError):
            log.exception('could not start an image worker')
            raise images.ImageRefused(FAILED) from None

    def usable(self):
        return self.proc.poll() is None and self.jobs < JOBS_PER_CHILD

    def process(self, data):
        self.jobs += 1
        timer = threading.Timer(2 * CPU_SECONDS + 5, self.proc.kill)  # the backstop
        timer.start()
        try:
            _write_frame(self.proc.stdin, data)
            header = _read_frame(self.proc.stdout)
            answer = json.loads(header) if header is not None else None
            payload = _read_frame(self.proc.stdout) if answer and 'kind' in answer else b''
        except (OSError, ValueError):
            answer = None
        finally:
            timer.cancel()
        if answer is not None and 'error' in answer:
            raise images.ImageRefused(answer['error'])
        if answer is not None and payload is not None:
            return _processed(answer, payload)
        status = self.stop()
        if status in (_OUT_OF_MEMORY, -signal.SIGXCPU, -signal.SIGKILL):
            log.warning('an upload refused: its worker exited with %s (%d bytes)', status,
                        len(data))
            raise images.ImageRefused(TOO_MUCH)
        log.error('an image worker exited with %s', status)
        raise images.ImageRefused(FAILED)

    def stop(self):
        """Kill the child if it runs, reap it; its exit status."""
        if self.proc.poll() is None:
            self.proc.kill()
        status = self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        return status


def _processed(answer, payload):
    renditions, offset = [], 0
    for item in answer['renditions']:
        size = item.pop('size')
        renditions.append(images.Rendition(data=payload[offset:offset + size], **item))
        offset += size
    return images.Processed(answer['kind'], answer['width'], answer['height'],
                            answer['animated'], answer['note'], tuple(renditions))


def _answer(data):
    try:
        processed = images.process(data)
    except images.ImageRefused as refusal:
        return {'error': str(refusal)}, None
    header = {'kind': processed.kind, 'width': processed.width, 'height': processed.height,
              'animated': processed.animated, 'note': processed.note,
              'renditions': [{'suffix': r.suffix, 'ext': r.ext, 'content_type': r.content_type,
                              'width': r.width, 'height': r.height, 'size': len(r.data)}
                             for r in processed.renditions]}
    return header, b''.join(r.data for r in processed.renditions)


def _child_main(argv):
    """`python -m blog.image_worker BYTES`: at most BYTES of memory, CPU_SECONDS of
    CPU per image; frames in, frames out, until stdin closes."""
    memory = int(argv[0])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        while (data := _read_frame(stdin)) is not None:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            soft = int(usage.ru_utime + usage.ru_stime) + 1 + CPU_SECONDS
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            header, payload = _answer(data)
            _write_frame(stdout, json.dumps(header).encode('utf-8'))
            if payload is not None:
                _write_frame(stdout, payload)
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)


if __name__ == '__main__':
    _child_main(sys.argv[1:])
