"""The adminPass server create makes up: 12 letters and digits, all used."""
import string

from nova_lite.api.compute.server_create import admin_password


def test_passwords_are_letters_and_digits_of_the_length_asked():
    for length in (1, 12, 40):
        password = admin_password(length)
        assert len(password) == length
        assert set(password) <= set(string.ascii_letters + string.digits)


def test_every_character_turns_up():
    seen = set("".join(admin_password() for _ in range(500)))
    assert seen == set(string.ascii_letters + string.digits)
