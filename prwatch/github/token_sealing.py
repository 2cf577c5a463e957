"""Installation tokens sealed for storage outside the process (Redis, the database).

Only holders of the App's private key may read a stored token: the entry is encrypted with
Fernet under a key derived by HKDF-SHA256 from that private key. Whoever can read Redis (job
payloads) or the database (the status page's data) learns nothing usable from the entry.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from prwatch.github.auth import AppCredentials, InstallationToken

KEY_DERIVATION_INFO = b"prwatch shared installation tokens v1"


def derive_fernet_key(credentials: AppCredentials) -> bytes:
    """A Fernet key only holders of the App's private key can derive (HKDF-SHA256 over the
    key's canonical DER form, so PEM formatting does not matter)."""
    der = credentials.signing_key().private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=KEY_DERIVATION_INFO + b" app " + str(credentials.app_id).encode(),
    )
    return base64.urlsafe_b64encode(hkdf.derive(der))


class UnreadableToken(Exception):
    """An entry that does not decrypt or does not hold this installation's token."""


class TokenSeal:
    """Seals installation tokens into opaque bytes and opens them again."""

    def __init__(self, credentials: AppCredentials) -> None:
        self._fernet = Fernet(derive_fernet_key(credentials))

    def __repr__(self) -> str:
        return "TokenSeal()"

    def seal(self, token: InstallationToken) -> bytes:
        plain = {
            "installation_id": token.installation_id,
            "token": token.token,
            "expires_at": token.expires_at,
        }
        return self._fernet.encrypt(json.dumps(plain).encode())

    def open(self, entry: bytes, installation_id: int) -> InstallationToken:
        """The token ``entry`` holds; ``UnreadableToken`` when it is not this installation's
        token sealed with this App's key."""
        try:
            plain = json.loads(self._fernet.decrypt(entry))
        except (InvalidToken, ValueError):
            raise UnreadableToken from None
        if not isinstance(plain, dict) or plain.get("installation_id") != installation_id:
            raise UnreadableToken
        token, expires_at = plain.get("token"), plain.get("expires_at")
        if (
            not isinstance(token, str)
            or not token
            or isinstance(expires_at, bool)
            or not isinstance(expires_at, (int, float))
        ):
            raise UnreadableToken
        return InstallationToken(installation_id, token, float(expires_at))
