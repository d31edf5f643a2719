"""Password hashes, as ``users.password_hash`` stores them:
``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` (scrypt from the standard library).
Set by ``bootstrap``, checked by the Identity API's password login."""
import hashlib
import hmac
import os

N, R, P = 2 ** 14, 8, 1


def hash_password(password):
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def check_password(password, stored):
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except (AttributeError, ValueError):
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt),
                               n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)
