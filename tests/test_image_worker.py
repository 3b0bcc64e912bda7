"""blog.image_worker: uploads processed in kept child processes, within their memory
limit, the same result as in-process, and a clear refusal when a child cannot."""

import pytest

from blog import image_worker, images
from tests import pictures


@pytest.fixture
def workers():
    pool = image_worker.Workers()
    yield pool
    pool.stop()


def test_a_child_gives_what_processing_here_gives_and_is_kept(workers):
    data = pictures.png(700, 500)
    here = images.process(data)
    there = workers.process(data)
    assert there == here  # every rendition, byte for byte
    (child,) = workers.idle
    workers.process(pictures.jpeg_with_gps(900, 600))
    assert workers.idle == [child] and child.jobs == 2


def test_a_refusal_comes_back_and_the_child_stays(workers):
    with pytest.raises(images.ImageRefused, match='SVG images are not accepted'):
        workers.process(pictures.SVG)
    (child,) = workers.idle
    assert child.usable()


def test_an_image_past_the_memory_limit_is_refused_and_the_child_replaced(workers,
                                                                          monkeypatch):
    # Python and Pillow start in about 32 MiB of address space; a 12-megapixel photo
    # needs far more than 96.
    monkeypatch.setattr(image_worker, 'CHILD_MEMORY', 96 * 1024 * 1024)
    with pytest.raises(images.ImageRefused, match='too much work'):
        workers.process(pictures.jpeg_with_gps(4000, 3000, orientation=6))
    assert workers.idle == []  # that child is gone
    assert workers.process(pictures.png(100, 100)).width == 100  # a new one


def test_a_child_is_replaced_after_its_jobs(workers, monkeypatch):
    monkeypatch.setattr(image_worker, 'JOBS_PER_CHILD', 2)
    workers.process(pictures.png(50, 50))
    first = workers.idle[0]
    workers.process(pictures.png(60, 60))
    assert workers.idle == [] and first.proc.poll() is not None
    workers.process(pictures.png(70, 70))
    assert workers.idle[0] is not first


def test_every_slot_busy_is_a_refusal_to_send_again(monkeypatch):
    pool = image_worker.Workers(slots=1)
    monkeypatch.setattr(image_worker, 'WAIT_SECONDS', 0.05)
    assert pool.slots.acquire()
    with pytest.raises(images.ImageRefused, match='Send this one again'):
        pool.process(pictures.png())
    pool.slots.release()
    pool.stop()
