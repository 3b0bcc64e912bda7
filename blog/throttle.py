"""Login throttling: failed sign-ins counted per username and per client address.

Kept in memory of the one server process (a restart forgets, which only helps
a user locked out by someone else). Keys whose failures have all aged out are
swept every `SWEEP_EVERY` failures, so trying many different usernames cannot
grow it without bound. The address is the socket's REMOTE_ADDR, not
X-Forwarded-For, which a client can write itself; behind a reverse proxy, waitress's
`trusted_proxy` settings put the real address there.
"""

import threading
import time
from collections import defaultdict, deque

SWEEP_EVERY = 1000  # failures between sweeps of aged-out keys


class Throttle:
    """Sliding-window counter of failures per key."""

    def __init__(self, window, per_user, per_address, clock=time.monotonic):
        self.window = window
        self.limits = {'user': per_user, 'address': per_address}
        self.clock = clock
        self._failures = defaultdict(deque)
        self._lock = threading.Lock()
        self._since_sweep = 0

    def _prune(self, key, now):
        times = self._failures.get(key)
        while times and times[0] <= now - self.window:
            times.popleft()
        if key in self._failures and not times:
            del self._failures[key]
        return times or ()

    def retry_after(self, username, address):
        """Seconds until a try is allowed for this username/address; 0 if now."""
        now = self.clock()
        wait = 0
        with self._lock:
            for kind, value in (('user', username), ('address', address)):
                times = self._prune((kind, value), now)
                if len(times) >= self.limits[kind]:
                    wait = max(wait, times[-self.limits[kind]] + self.window - now)
        return int(wait) + 1 if wait else 0

    def failed(self, username, address):
        """Record one failed sign-in."""
        now = self.clock()
        with self._lock:
            self._failures[('user', username)].append(now)
            self._failures[('address', address)].append(now)
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._since_sweep = 0
                for key in list(self._failures):
                    self._prune(key, now)

    def __len__(self):
        """How many usernames and addresses have failures on record."""
        return len(self._failures)

    def succeeded(self, username):
        """A correct password clears that username's failures."""
        with self._lock:
            self._failures.pop(('user', username), None)
