"""The writer's own record of the verdicts it wrote: a keyed digest (HMAC-SHA256) of each one's bytes.

A verdict file is only believed when its bytes still have the digest the
writer recorded for that student and lab when it wrote them. The key is a
random secret in the instructor's data folder (``.cvlab/verdict.key``, mode
0600), never in a verdict; the digests are appended to ``.cvlab/ledger.jsonl``
beside it. A verdict changed on disk after it was written (by hand, or by a
process that outlived a sandbox) no longer matches: the next run treats it
as never graded, grades that submission again and says so. Without the key,
no digest can be forged for a changed file; a lost key or ledger only makes
the next run grade everything again.
"""

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

STATE_DIR = ".cvlab"
KEY_NAME = "verdict.key"
LEDGER_NAME = "ledger.jsonl"
#: The ledger is rewritten without superseded lines when it holds this many times more lines than entries.
COMPACT_FACTOR = 4


class Ledger:
    """Digests of the verdicts written into one data folder (a batch's ``--out`` or a course folder)."""

    def __init__(self, folder):
        self.state = Path(folder) / STATE_DIR
        self._key = None
        self._entries = None
        self._lines = 0

    def _read_key(self):
        try:
            return bytes.fromhex((self.state / KEY_NAME).read_text(encoding="ascii").strip()) or None
        except (OSError, ValueError):
            return None

    def _create_key(self):
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.state / KEY_NAME
        with contextlib.suppress(FileExistsError):  # created meanwhile: the file wins
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(secrets.token_hex(32) + "\n")
        return self._read_key()

    def key(self, create=False):
        """The secret, or None when there is none yet (and ``create`` is False)."""
        if self._key is None:
            self._key = self._read_key() or (self._create_key() if create else None)
        return self._key

    def digest(self, name, data):
        """HMAC-SHA256 (hex) of ``data`` recorded under ``name`` (``"<lab>/<student>"``), or None without a key."""
        key = self.key()
        return None if key is None else hmac.new(key, name.encode() + b"\0" + data, hashlib.sha256).hexdigest()

    def entries(self):
        """``{name: digest}`` as recorded (the last line for a name wins; a torn last line is ignored)."""
        if self._entries is None:
            self._entries, self._lines = {}, 0
            with contextlib.suppress(FileNotFoundError):
                for line in (self.state / LEDGER_NAME).read_text(encoding="utf-8").splitlines():
                    self._lines += 1
                    with contextlib.suppress(ValueError, TypeError, KeyError):
                        entry = json.loads(line)
                        self._entries[str(entry["name"])] = str(entry["mac"])
        return self._entries

    def seal(self, name, data):
        """Record the digest of ``data``, the bytes just written for ``name``."""
        mac = hmac.new(self.key(create=True), name.encode() + b"\0" + data, hashlib.sha256).hexdigest()
        entries = self.entries()
        entries[name] = mac
        with open(self.state / LEDGER_NAME, "a", encoding="utf-8") as file:
            file.write(json.dumps({"name": name, "mac": mac}) + "\n")
        self._lines += 1
        if self._lines > COMPACT_FACTOR * len(entries) + 100:
            self._compact()

    def _compact(self):
        partial = self.state / (LEDGER_NAME + ".part")
        partial.write_text("".join(json.dumps({"name": n, "mac": m}) + "\n" for n, m in self._entries.items()), encoding="utf-8")
        os.replace(partial, self.state / LEDGER_NAME)
        self._lines = len(self._entries)

    def verify(self, name, data):
        """True when ``data`` is what the writer recorded for ``name``."""
        recorded = self.entries().get(name)
        expected = self.digest(name, data)
        return recorded is not None and expected is not None and hmac.compare_digest(recorded, expected)
