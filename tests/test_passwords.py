"""The scrypt hash behind make_password/check_password, and its use from SQL."""

import pytest

from blog import passwords
from blog.db import db, hash_password
from tests.conftest import TEST_COST


def test_default_cost_meets_owasp_minimum():
    # OWASP: scrypt N=2^14 (16 MiB), r=8, p=5 or stronger.
    cost = passwords.DEFAULT_COST
    assert (2 ** cost.log_n) * cost.r * cost.p >= (2 ** 14) * 8 * 5
    assert cost.r >= 8


def test_format_carries_parameters_and_salt():
    encoded = passwords.make_password('a long password here', TEST_COST)
    algorithm, log_n, r, p, salt, key = encoded.split('$')
    assert algorithm == 'scrypt'
    assert (int(log_n), int(r), int(p)) == tuple(TEST_COST)
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(key)) == 32


def test_salts_are_unique():
    hashes = {passwords.make_password('same password', TEST_COST) for _ in range(20)}
    assert len(hashes) == 20
    assert len({h.split('$')[4] for h in hashes}) == 20


@pytest.mark.parametrize('raw', ['a long password here', 'ünïcödé pässwörd ✓', ' ' * 12])
def test_check_accepts_the_right_password(raw):
    assert passwords.check_password(raw, passwords.make_password(raw, TEST_COST))


def test_check_refuses_wrong_password():
    encoded = passwords.make_password('a long password here', TEST_COST)
    assert not passwords.check_password('a long password herE', encoded)
    assert not passwords.check_password('', encoded)
    assert not passwords.check_password(None, encoded)


@pytest.mark.parametrize('encoded', ['', 'x', None, 'sha1$abc$def', 'scrypt$14$8$5$zz$zz',
                                     'scrypt$40$8$1$' + '00' * 16 + '$00',  # absurd cost
                                     'scrypt$14$8$5$00$00'])  # short salt
def test_malformed_hashes_never_match(encoded):
    assert not passwords.check_password('a long password here', encoded)


def test_needs_rehash_when_parameters_change():
    old = passwords.make_password('a long password here', passwords.Cost(4, 8, 1))
    assert passwords.needs_rehash(old, passwords.Cost(5, 8, 1))
    assert not passwords.needs_rehash(old, passwords.Cost(4, 8, 1))


def test_default_cost_hash_verifies():
    encoded = passwords.make_password('a long password here')
    assert passwords.check_password('a long password here', encoded)
    assert encoded.startswith('scrypt$14$8$5$')


def test_sql_functions_are_registered(dbconn):
    encoded = hash_password('a long password here')
    ok = db.execute_sql('SELECT check_password(?, ?)',
                        ('a long password here', encoded)).fetchone()[0]
    bad = db.execute_sql('SELECT check_password(?, ?)', ('wrong password!!', encoded)).fetchone()[0]
    assert (ok, bad) == (1, 0)
