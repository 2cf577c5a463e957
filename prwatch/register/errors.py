"""The one error of the registration flow."""

from __future__ import annotations


class RegistrationError(Exception):
    """The registration cannot go on; the message is one line meant for the person running it."""
