from __future__ import annotations

import os
import stat

import pytest

from tandem.access import codes


def test_codes_are_long_random_and_url_safe():
    seen = {codes.new_code() for _ in range(1000)}
    assert len(seen) == 1000
    for code in seen:
        assert codes.is_well_formed(code)
        assert len(code) == codes.TOKEN_LENGTH  # 32 base64url chars = 192 bits
    assert codes.TOKEN_BYTES * 8 >= 128


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "short",
        "a" * 31,
        "a" * 33,
        "a" * 31 + "=",
        "a" * 31 + "/",
        "a" * 31 + "+",
        "a" * 31 + "\x00",
        "a" * 31 + "é",
        " " + "a" * 31,
        "../" + "a" * 29,
        None,
        12345,
        b"a" * 32,
        "a" * 10_000,
    ],
)
def test_malformed_tokens_rejected(bad):
    assert not codes.is_well_formed(bad)


def test_hash_is_keyed_and_purpose_bound():
    k1, k2 = codes.new_key(), codes.new_key()
    code = codes.new_code()
    assert codes.hash_code(k1, code) == codes.hash_code(k1, code)
    assert codes.hash_code(k1, code) != codes.hash_code(k2, code)
    assert codes.hash_code(k1, code) != codes.hash_session(k1, code)
    assert code not in codes.hash_code(k1, code)
    assert codes.same_hash(codes.hash_code(k1, code), codes.hash_code(k1, code))
    assert not codes.same_hash(codes.hash_code(k1, code), codes.hash_code(k2, code))


def test_hashing_refuses_malformed_input_and_short_keys():
    with pytest.raises(ValueError):
        codes.hash_code(codes.new_key(), "not a code")
    with pytest.raises(ValueError):
        codes.hash_code(b"short", codes.new_code())


def test_key_file_created_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "access.key"
    key = codes.load_or_create_key(path)
    assert len(key) == codes.KEY_BYTES
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert codes.load_or_create_key(path) == key
