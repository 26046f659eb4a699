"""The API key and other secrets: kept out of every message, log row, repr and export.

A key is registered where it arrives (`register_secret`; RUNWARE_API_KEY and a password in
RUNWARE_BASE_URL are registered as they are read), then `redact` scrubs it, in its every form,
from any text qwenlab writes: error messages, log rows, reports. `Secret` is a key as a str whose
repr is '***', so that a frame holding one prints no key; `refuse_secret` refuses text a user
writes into the log (a note, a tag, a name) when it holds the key.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import re
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

__all__ = ["Secret", "as_secret", "key_id", "register_secret", "url_password", "holds_secret", "redact_json", "secret_places", "refuse_secret", "redact"]

# Secrets registered here are scrubbed from every error message and log line qwenlab writes.
_SECRETS: set[str] = set()
# A bearer token a message may quote (a header echoed by a server), though no key was registered:
# a token-like run of 12 or more characters with a digit in it, so that a prompt's "a flag bearer
# holding a banner" stays as written (the exact request JSON is what the log keeps)
_BEARER = re.compile(r"(?i)(bearer\s+)(?=[^\s\"',;]*\d)[^\s\"',;]{12,}")


# The keys themselves (not their variants), whose cut-off starts `redact` also removes: a message
# cut to length before it was scrubbed kept the first characters of a key a server quoted
_KEYS: set[str] = set()
_PREFIX = 8  # characters of a key's start that count as the key, in a key of twice as many or more
_ENV_KEY: list[tuple[str | None, str | None] | None] = [None]  # RUNWARE_API_KEY and _BASE_URL as last registered


class Secret(str):
    """An API key as a str whose repr is '***'. A variable that holds one shows no key where
    Python prints variables: a verbose traceback (IPython's `%xmode Verbose` lists every frame's
    arguments and the variables of its line), pytest's --showlocals, a debugger. str(), f-strings,
    comparisons and the key's own methods give the key itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def as_secret(value: str | None) -> Secret | None:
    """`value` as a Secret (None stays None): where a key arrives, bound over the argument that
    brought it, so the frame holds no plain copy."""
    return value if value is None or isinstance(value, Secret) else Secret(value)


def key_id(key: str, salt: bytes) -> str:
    """A short name for an API key that tells two keys apart without holding either: the first 16
    hex digits of HMAC-SHA256(salt, key). A log keeps it beside each task it sends, with a random
    salt of its own (`Log.key_salt`), so that a task in doubt is sent again only with the key it was
    sent with; from the name and the salt, no key can be worked out."""
    return hmac.new(salt, key.encode(), hashlib.sha256).hexdigest()[:16]


def register_secret(secret: str | None) -> None:
    """Remember a secret (an API key) so that `redact` removes it wherever it appears: as given
    and without surrounding whitespace (a .env file's stray CR), in either case, URL-encoded, in
    base64 (alone or as a Bearer header), and any cut-off start of it of 8 characters or more."""
    if not secret:
        return
    # each form kept as a Secret, the sets and lists that hold them too: a traceback that prints
    # variables (IPython's %xmode Verbose names the globals of each frame's line) showed them
    # where a Ctrl-C landed in `redact`, which scrubs every message and answer item
    secret = as_secret(secret)
    for key in {secret, as_secret(secret.strip())}:
        if len(key) < 4 or key in _KEYS:
            continue
        _KEYS.add(key)
        _SECRETS.add(key)
        if len(key) >= 12:  # a key's forms, where they cannot be a prompt's word ("TEST" for a test key "test")
            _SECRETS.update((Secret(key.lower()), Secret(key.upper()), Secret(quote(key, safe="")),
                             Secret(base64.b64encode(key.encode()).decode()),
                             Secret(base64.b64encode(f"Bearer {key}".encode()).decode())))


def _register_env_key() -> None:
    """Register RUNWARE_API_KEY as it is now, and a password written into RUNWARE_BASE_URL: a
    message made before any client was (a sweep file refused, a name not found, no connection)
    must be scrubbed of them too."""
    # os.getenv, not os.environ on this line: a verbose traceback prints what a line names
    key, url = as_secret(os.getenv("RUNWARE_API_KEY")), as_secret(os.getenv("RUNWARE_BASE_URL"))
    if (key, url) != _ENV_KEY[0]:
        _ENV_KEY[0] = (key, url)
        register_secret(key)
        register_secret(url_password(url))


def url_password(url: str | None) -> str | None:
    """The password written into `url` (https://user:PASSWORD@host), if any."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def holds_secret(text: Any) -> bool:
    """Whether `text` holds a registered secret (an API key pasted where it does not belong)."""
    _register_env_key()
    out = str(text)
    return any(secret in out for secret in _SECRETS)


def redact_json(value: Any) -> Any:
    """A deep copy of JSON-like `value` with every registered secret scrubbed from its strings,
    its keys too (a server may name a field after what it echoes)."""
    # RUNWARE_API_KEY read once for the whole value, not for each of its keys and strings: every
    # answer item of a sweep comes through here (about ten strings a task, two environment reads each)
    _register_env_key()
    return _redact_json(value)


# values a deep copy returns as they are: no deepcopy call for a number of an answer item
_ATOMIC = (int, float, bool, type(None))


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub(str(value))  # str(): a str subclass comes back a str, as redact gives it
    if isinstance(value, dict):
        return {_scrub(str(k)) if isinstance(k, str) else k: _redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_json(v) for v in value]
    return value if type(value) in _ATOMIC else copy.deepcopy(value)


def secret_places(data: Any, path: str = "") -> list[str]:
    """Where in `data` (nested dicts and lists, as a task's JSON) a text holds a registered
    secret: paths such as "positivePrompt" or "sweep.axes[0].values[1]"; empty when none does."""
    _register_env_key()
    if not _SECRETS:
        return []
    # every task a client sends is scanned (`RunwareClient.prepare`): first whether any text holds
    # a secret at all, without the generators and path strings; the places only when one does
    if not _holds(data, tuple(_SECRETS)):
        return []
    return [p for p, text in _texts(data, path) if any(secret in text for secret in _SECRETS)]


def _holds(data: Any, secrets: tuple[str, ...]) -> bool:
    """Whether a text `_texts` would give of `data` holds one of `secrets`."""
    if isinstance(data, dict):
        items: Any = data.values()
    elif isinstance(data, (list, tuple)):
        items = data
    else:
        return isinstance(data, str) and any(secret in data for secret in secrets)
    for value in items:
        if isinstance(value, str):
            for secret in secrets:
                if secret in value:
                    return True
        elif isinstance(value, (dict, list, tuple)) and _holds(value, secrets):
            return True
    return False


def _texts(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _texts(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            yield from _texts(v, f"{path}[{i}]")
    elif isinstance(data, str):
        yield path, data


def refuse_secret(param: str, value: Any) -> None:
    """ValueError naming `param` when `value` holds the API key (one registered, or
    RUNWARE_API_KEY's): text a user writes into the log (a note, a tag, a name) goes into its
    listings, bundles, image sidecars and reports, where a key must never be."""
    if value is not None and holds_secret(value):
        raise ValueError(f"{param}: holds your Runware API key; take it out (it would be kept in the log and shown in its "
                         "listings, bundles and reports)")


def redact(text: Any) -> str:
    """Return `text` as a string with every registered secret (and its start, cut off) and bearer
    token replaced by ***."""
    _register_env_key()
    return _scrub(str(text))


def _scrub(out: str) -> str:
    """`redact` without reading the environment: for callers that registered RUNWARE_API_KEY
    already, once for many texts (`redact_json`)."""
    ordered = _ORDERED
    if len(_SECRETS) != ordered[0]:  # a secret was registered since: the longest first, so none is cut
        snapshot = list(_SECRETS)  # counted with what was sorted, should another thread register meanwhile
        ordered = [len(snapshot), *sorted(snapshot, key=len, reverse=True)]
        _ORDERED[:] = ordered
    for secret in ordered[1:]:
        if secret in out:
            out = out.replace(secret, "***")
    for key in _KEYS:
        if len(key) >= 2 * _PREFIX:
            out = _without_start_of(key, out)
    # a report escapes every text through here: the search only where the word is
    return _BEARER.sub(r"\1***", out) if "bearer" in out.lower() else out


# the secrets, longest first, as redact last sorted them; [0] is how many there were then
_ORDERED: list[Any] = [0]


def _without_start_of(key: str, text: str) -> str:
    """`text` with every run of `key`'s first characters (at least _PREFIX of them) that ends
    where the text or its word does (a key cut off: "sk-abc123…'", not "qwenlab-bundle" for a
    key starting "qwenlab-e") replaced by ***."""
    head = Secret(key[:_PREFIX])
    i = text.find(head)
    while i >= 0:
        j = i + _PREFIX
        while j < len(text) and j - i < len(key) and text[j] == key[j - i]:
            j += 1
        if j - i < len(key) and j < len(text) and text[j].isalnum():
            i = text.find(head, i + 1)  # goes on as another word: not this key
            continue
        text = text[:i] + "***" + text[j:]
        i = text.find(head, i + 3)
    return text
