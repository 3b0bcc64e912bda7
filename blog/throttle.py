"""Throttles for the forms that check a secret: counts of failures kept in the
database (the `throttle` table), so every server process sharing it shares them.

A *scope* names what is counted and its `Limit` (failures per window). A key is
the scope's parts (a username, an address, a user id with an address), hashed, so
the table holds no addresses or typed names. Each window is cut into
`BUCKETS_PER_WINDOW` fixed buckets: a failure is one upsert on its bucket's row,
a check is one read of the key's live buckets (at most a few rows, through the
unique index). A bucket counts until one whole window has passed after its end,
so every failure of the last window is always counted (a little more than a
window may be: a stricter limit, never a looser one).

The sign-in scopes (design.md, "Accounts and forms"):

- `sign-in`: one username from one address, 10 in 15 minutes, then 429 with
  Retry-After until the oldest counted failures age out;
- `sign-in-address`: one address, any usernames, 50 in 15 minutes, likewise;
- `sign-in-user`: one username from every address, 100 in 15 minutes; past it a
  try is *slowed*, not refused: one try per `slow` seconds (5) for that username,
  the others answered 429 with a Retry-After of those few seconds. An address the
  user signed in from within 30 days (`sign-in-known`) skips that wait, so
  strangers guessing cannot even slow the owner at home; from a new address the
  owner waits seconds, never the window.

Registration counts per address, password changes (a wrong `current_password`)
per user and address like sign-in, and `reset` and `second-factor` are ready for
those forms: `throttle.wait([(RESET, (address,))])`, `throttle.failed(...)`.

Writes are one short upsert (and a bounded sweep of at most `SWEEP_BATCH` dead
rows) in `blog.db.write_transaction()`: the write lock is held for a few index
writes, never across a password hash. The address is the socket's REMOTE_ADDR,
not X-Forwarded-For, which a client can write itself; behind a reverse proxy,
waitress's `trusted_proxy` settings put the real address there.
"""

import hashlib
import time
from dataclasses import dataclass

from blog import db
from blog.queries import throttles

BUCKETS_PER_WINDOW = 3
SWEEP_BATCH = 100  # dead rows deleted at most per failure (each adds at most 3)
KNOWN_DAYS = 30  # how long a signed-in address skips the username-wide slow-down

SIGN_IN, SIGN_IN_ADDRESS, SIGN_IN_USER = 'sign-in', 'sign-in-address', 'sign-in-user'
SIGN_IN_KNOWN = 'sign-in-known'
REGISTER, PASSWORD, PASSWORD_USER = 'register', 'password', 'password-user'
RESET, SECOND_FACTOR = 'reset', 'second-factor'


@dataclass(frozen=True)
class Limit:
    """`limit` failures per `window` seconds; with `slow`, past the limit one try
    per `slow` seconds is still let through instead of none."""

    limit: int
    window: int
    slow: int = 0


def default_limits(window=15 * 60, per_user=10, per_address=50, per_username=100,
                   slow_seconds=5, register_per_hour=10):
    """Every scope's Limit, from the settings blog.config names."""
    return {
        SIGN_IN: Limit(per_user, window),
        SIGN_IN_ADDRESS: Limit(per_address, window),
        SIGN_IN_USER: Limit(per_username, window, slow=slow_seconds),
        SIGN_IN_KNOWN: Limit(1, KNOWN_DAYS * 86400),
        REGISTER: Limit(register_per_hour, 3600),
        PASSWORD: Limit(per_user, window),
        PASSWORD_USER: Limit(per_address, window),
        RESET: Limit(per_user, 3600),
        SECOND_FACTOR: Limit(per_user, window),
    }


def limits_from_config(config):
    """The scopes' limits for a site's `blog.config.Config`."""
    return default_limits(config.throttle_window, config.throttle_per_user,
                          config.throttle_per_address, config.throttle_per_username,
                          config.throttle_slow_seconds, config.throttle_register_per_hour)


def hash_key(parts):
    """The stored key for a scope's parts (a username, an address, ...)."""
    text = '\x1f'.join(str(part) for part in parts)
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()


class Throttle:
    """Failure counts per scope and key, in the database of the active site."""

    def __init__(self, window=15 * 60, per_user=10, per_address=50, clock=time.time):
        self.limits = default_limits(window, per_user, per_address)
        self.clock = clock
        self.backend = None  # set by attach(): what __len__ counts in

    def attach(self, backend, config):
        """Use `config`'s limits; `backend` is the site's (blog.site.Site does this)."""
        self.backend = backend
        self.limits = limits_from_config(config)

    def _now(self):
        return int(self.clock())

    def _counts(self, checks, now):
        keys = {(scope, hash_key(parts)): scope for scope, parts in checks}
        found = {pair: [] for pair in keys}
        for scope, key, count, last_at, expires_at in throttles.live_counts(keys, now):
            found[(scope, key)].append((expires_at, count, last_at))
        return found

    def _wait(self, limit, buckets, now):
        total = sum(count for _, count, _ in buckets)
        if total < limit.limit:
            return 0
        if limit.slow:
            since = now - max(last_at for _, _, last_at in buckets)
            return max(limit.slow - since, 0)
        # Until enough of the oldest buckets stop counting to be under the limit.
        for expires_at, count, _ in sorted(buckets):
            total -= count
            if total < limit.limit:
                return max(expires_at - now, 1)
        return 0

    def wait(self, checks):
        """Seconds until a try is allowed for every (scope, parts) in `checks`; 0: now."""
        now = self._now()
        counts = self._counts(checks, now)
        return max((self._wait(self.limits[scope], counts[(scope, key)], now)
                    for (scope, key) in counts), default=0)

    def failed(self, checks):
        """Count one failure for each (scope, parts) in `checks`."""
        now = self._now()
        with db.write_transaction():
            throttles.add_failures(self._rows(checks, now))
            throttles.sweep(now, SWEEP_BATCH)

    def _rows(self, checks, now):
        rows = []
        for scope, parts in checks:
            window = self.limits[scope].window
            size = max(window // BUCKETS_PER_WINDOW, 1)
            bucket = now // size
            rows.append({'scope': scope, 'key': hash_key(parts), 'bucket': bucket,
                         'last_at': now, 'expires_at': (bucket + 1) * size + window})
        return rows

    def clear(self, scope, parts):
        """Forget the failures of one key in one scope."""
        with db.write_transaction():
            throttles.clear(scope, hash_key(parts))

    # Sign-in: the three scopes and the owner's known addresses --------------

    def sign_in_wait(self, username, address):
        """Seconds until `username` may try from `address`; 0: now."""
        checks = [(SIGN_IN, (username, address)), (SIGN_IN_ADDRESS, (address,)),
                  (SIGN_IN_USER, (username,)), (SIGN_IN_KNOWN, (username, address))]
        now = self._now()
        counts = self._counts(checks, now)
        known = bool(counts[(SIGN_IN_KNOWN, hash_key((username, address)))])
        wait = 0
        for (scope, _), buckets in counts.items():
            if scope == SIGN_IN_KNOWN or (scope == SIGN_IN_USER and known):
                continue
            wait = max(wait, self._wait(self.limits[scope], buckets, now))
        return wait

    def sign_in_failed(self, username, address):
        """Count a failed sign-in in all three sign-in scopes."""
        self.failed([(SIGN_IN, (username, address)), (SIGN_IN_ADDRESS, (address,)),
                     (SIGN_IN_USER, (username,))])

    def sign_in_succeeded(self, username, address):
        """A correct password clears this address's failures for the username and
        makes the address a known one. The address's own count and the
        username-wide one stay: a valid account must not reset a guesser's count."""
        with db.write_transaction():
            throttles.clear(SIGN_IN, hash_key((username, address)))
            throttles.add_failures(self._rows([(SIGN_IN_KNOWN, (username, address))],
                                              self._now()))

    def __len__(self):
        """How many counter rows the attached site's database holds."""
        previous = db.use(self.backend)
        opened = self.backend.database.connect(reuse_if_open=True)
        try:
            return throttles.row_count()
        finally:
            if opened:
                self.backend.database.close()
            db.use(previous)
