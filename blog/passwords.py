"""Password hashing with scrypt: the functions behind the `make_password` and
`check_password` SQL functions (registered in `blog.db`).

Encoded form: ``scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>``. The cost parameters
travel with each hash, so they can be raised later and old hashes still verify
(and get re-hashed at the next successful sign-in, see `needs_rehash`).
"""

import hashlib
import hmac
import os
from typing import NamedTuple

ALGORITHM = 'scrypt'
SALT_BYTES = 16
KEY_BYTES = 32


class Cost(NamedTuple):
    """scrypt cost parameters: N = 2**log_n, block size r, parallelism p."""

    log_n: int
    r: int
    p: int

    @property
    def maxmem(self):
        # scrypt needs 128 * N * r * p bytes (plus slack); hashlib refuses more
        # than 32 MiB unless told, so tell it exactly what this cost needs.
        return 128 * (2 ** self.log_n) * self.r * (self.p + 1) + 1024 * 1024


# OWASP Password Storage Cheat Sheet: N=2^14, r=8, p=5 (16 MiB, ~0.3 s here).
# N=2^17, r=8, p=1 is the other listed option; it needs 128 MiB for each hash,
# too much for a threaded server that may hash several passwords at once.
DEFAULT_COST = Cost(14, 8, 5)
# Bounds on what a stored hash may ask of us, so a tampered row cannot make a
# sign-in allocate gigabytes.
_MAX_LOG_N, _MAX_R, _MAX_P = 20, 32, 16


def _derive(raw, salt, cost):
    return hashlib.scrypt(raw.encode('utf-8', 'surrogatepass'), salt=salt,
                          n=2 ** cost.log_n, r=cost.r, p=cost.p,
                          maxmem=cost.maxmem, dklen=KEY_BYTES)


def make_password(raw, cost=DEFAULT_COST):
    """Hash `raw` with a fresh random salt; returns the encoded string."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(raw, salt, cost)
    return '$'.join((ALGORITHM, str(cost.log_n), str(cost.r), str(cost.p),
                     salt.hex(), key.hex()))


def parse(encoded):
    """Split an encoded hash into (cost, salt, key); None when malformed."""
    try:
        algorithm, log_n, r, p, salt, key = encoded.split('$')
        cost = Cost(int(log_n), int(r), int(p))
        salt, key = bytes.fromhex(salt), bytes.fromhex(key)
    except (AttributeError, ValueError):
        return None
    if (algorithm != ALGORITHM or not 1 <= cost.log_n <= _MAX_LOG_N
            or not 1 <= cost.r <= _MAX_R or not 1 <= cost.p <= _MAX_P
            or len(salt) < SALT_BYTES or not key):
        return None
    return cost, salt, key


def check_password(raw, encoded):
    """True when `raw` matches `encoded`; constant-time compare."""
    if raw is None:
        return False
    parsed = parse(encoded)
    if parsed is None:
        return False
    cost, salt, key = parsed
    return hmac.compare_digest(_derive(raw, salt, cost), key)


def needs_rehash(encoded, cost=DEFAULT_COST):
    """True when `encoded` was made with other parameters than `cost`."""
    parsed = parse(encoded)
    return parsed is None or parsed[0] != cost
