"""Queries for uploaded images (`image`) and the images posts show (`post_image`)."""

from peewee import fn

from blog.models import Image, Post, PostImage

USES_SHOWN = 200  # post rows read for one page of the library, at most
KEYS_AT_ONCE = 500  # keys in one IN (...): well under SQLite's variable limit


def image_by_id(image_id):
    """The image row `image_id`, or None."""
    return Image.get_or_none(Image.id == image_id)


def image_of(owner_id, key):
    """`owner_id`'s row for the content address `key`, or None."""
    return (Image
            .select()
            .where((Image.owner == owner_id) &
                   (Image.key == key))
            .first())


def any_image(key):
    """Some row (any owner's) for `key`: its files are the same for every owner."""
    return (Image
            .select()
            .where(Image.key == key)
            .order_by(Image.id)
            .first())


def rows_with_key(key):
    """How many rows (owners) share the files of `key`."""
    return (Image
            .select()
            .where(Image.key == key)
            .count())


def images_of(owner_id, offset, limit):
    """One page of `owner_id`'s images, newest first."""
    return list(Image
                .select()
                .where(Image.owner == owner_id)
                .order_by(Image.created_at.desc(), Image.id.desc())
                .offset(offset)
                .limit(limit))




def used_bytes(owner_id):
    """The bytes `owner_id`'s images take (every size of each), what the quota counts."""
    return (Image
            .select(fn.COALESCE(fn.SUM(Image.bytes), 0))
            .where(Image.owner == owner_id)
            .scalar())


def images_by_keys(keys):
    """{key: a row for it} for the keys that have one (the order of `keys` ignored)."""
    found = {}
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), KEYS_AT_ONCE):
        for image in (Image
                      .select()
                      .where(Image.key.in_(keys[start:start + KEYS_AT_ONCE]))
                      .order_by(Image.id)):
            found.setdefault(image.key, image)
    return found


def set_post_images(post_id, keys):
    """Record that post `post_id` shows the images `keys` (in order, first first)."""
    (PostImage
     .delete()
     .where(PostImage.post == post_id)
     .execute())
    rows = [{'post': post_id, 'key': key, 'position': n}
            for n, key in enumerate(dict.fromkeys(keys))]
    for start in range(0, len(rows), KEYS_AT_ONCE // 3):
        PostImage.insert_many(rows[start:start + KEYS_AT_ONCE // 3]).execute()


def posts_using(keys):
    """{key: [post rows (id, title, slug, status, author)]} for the posts, trashed ones
    too, that show one of `keys`; at most USES_SHOWN rows in all, newest post first."""
    uses = {key: [] for key in keys}
    if not keys:
        return uses
    rows = (Post
            .select(Post.id, Post.title, Post.slug, Post.status, Post.author,
                    PostImage.key.alias('image_key'))
            .join(PostImage, on=(PostImage.post == Post.id))
            .where(PostImage.key.in_(list(keys)))
            .order_by(Post.id.desc())
            .limit(USES_SHOWN)
            .objects())
    for row in rows:
        uses[row.image_key].append(row)
    return uses


def use_count(key):
    """How many posts (in the trash too) show the image `key`."""
    return (PostImage
            .select()
            .where(PostImage.key == key)
            .count())




def keys_of_posts(post_ids):
    """The image keys the posts `post_ids` show, each once."""
    keys = []
    post_ids = list(post_ids)
    for start in range(0, len(post_ids), KEYS_AT_ONCE):
        keys.extend(row.key for row in (PostImage
                                        .select(PostImage.key)
                                        .where(PostImage.post.in_(
                                            post_ids[start:start + KEYS_AT_ONCE]))))
    return list(dict.fromkeys(keys))
