"""Unit tests of the id and key formats."""

import string

from apiusers import ids, keys


def test_id_pattern_is_exactly_the_bitcoin_base58_alphabet():
    allowed = {c for c in string.printable if ids.ID_REGEX.match(c * 12)}

    assert "".join(sorted(allowed)) == ids.ALPHABET
    assert not set("0OIl") & allowed


def test_new_ids_are_12_base58_characters_and_differ():
    generated = {ids.new_id() for _ in range(1000)}

    assert len(generated) == 1000
    assert all(ids.is_valid_id(value) for value in generated)


def test_a_generated_key_has_its_prefix_and_is_recognised():
    key, prefix = keys.generate()

    assert keys.prefix_of(key) == prefix
    assert len(prefix) == 8
    assert len(key) == 8 + 1 + 40
    assert keys.matches(key, keys.digest(key))
    assert not keys.matches(key[:-1] + ("2" if key[-1] != "2" else "3"), keys.digest(key))


def test_malformed_keys_have_no_prefix():
    key, _ = keys.generate()

    for bad in ["", key + "\n", key[:-1], key.replace(".", "-"), "0" + key[1:], f"{key} "]:
        assert keys.prefix_of(bad) is None


def test_redacted_key_keeps_only_the_prefix():
    assert keys.redact("Abcdefgh") == "Abcdefgh.********"
