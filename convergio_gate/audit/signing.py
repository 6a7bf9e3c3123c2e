"""Sign audit entries with an SSH key, and check those signatures against trusted keys.

Why signatures: the hash chain proves order and integrity, not authorship. Anyone who can
push can append an ``accept`` entry, or edit an entry and re-hash everything after it. To
make CI the authority for ``done``, CI signs the hash of each acceptance it writes with a
key only CI holds (a repository secret), and the configuration on the default branch
lists the keys it trusts (``audit.trusted_signers``). An agent can still write an
acceptance; it cannot sign one.

Why ssh-keygen: ``ssh-keygen -Y sign`` is git's own SSH signing format (``gpg.format
ssh``), installed wherever OpenSSH is, and its allowed-signers file is the one people
already keep for signed commits. No crypto library is added and no crypto is written
here: this module reads the signature envelope only to report which key and namespace it
names; whether a signature is good is decided by ssh-keygen's exit status alone.

What is signed: the ASCII bytes of the entry hash (64 hex digits), in the namespace
``convergio-gate``, so a signature made for a git commit or a file (namespaces ``git``,
``file``) can never pass as an acceptance, nor one of ours as a commit signature. The
entry hash covers every body field (``seq``, ``prev``, ``time``, ``kind``, ``subject``
...), so a signature binds the entry and its place in the chain. The signature is stored
beside the body, outside the hash (``Entry.extra["sig"]``), since it is made over the hash.

Who signed: the principal is the one the allowed-signers file gives the signature's key
(``ssh-keygen -Y find-principals``), never the ``signer`` the signature claims; a claim
that the file does not back fails the check.

Which time keys are judged at: ``check`` uses the present unless ``at`` is given;
``check_entries`` uses each entry's own ``time``, so a key retired with ``valid-before``
keeps verifying the entries it signed while it was current (docs/signing.md says what that
does and does not protect against).

Processes: ssh-keygen checks one signature per call (about 5 ms). ``check_entries`` writes
the allowed-signers file once, runs the calls in a small thread pool, looks up the
principals of each distinct key once when no line of the file depends on time, and runs
nothing at all for entries without a signature.

ssh-keygen never waits for a passphrase: an encrypted key is refused before ssh-keygen is
asked, and should one slip through, signing runs with stdin at end of file, in a new
session without a controlling terminal, with ``SSH_ASKPASS_REQUIRE=never``, no agent and a
timeout. Key text never reaches a log or an error message.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from convergio_gate.audit.entry import HASH_RE, Entry
from convergio_gate.errors import FatalError

NAMESPACE = "convergio-gate"
FORMAT = "ssh"
#: The name of the stored field (``Entry.extra``) that holds ``Signature.to_json()``.
SIG_FIELD = "sig"
TIMEOUT_S = 30.0
MAX_WORKERS = 8
MAX_SIGNATURE_CHARS = 64 * 1024
MAX_KEY_BYTES = 1024 * 1024

# Reasons a SignatureCheck gives.
VALID = "valid"
NO_SIGNATURE = "no signature"
UNSUPPORTED_FORMAT = "unsupported signature format"
MALFORMED = "malformed signature"
WRONG_NAMESPACE = "wrong namespace"
KEY_MISMATCH = "claimed key does not match signature"
NOT_TRUSTED = "not a trusted signer"
NAMESPACE_NOT_ALLOWED = "key not allowed for this namespace"
KEY_NOT_VALID_THEN = "key not valid at that time"
CLAIM_MISMATCH = "claimed signer does not match key"
BAD_SIGNATURE = "bad signature"
ENTRY_EDITED = "entry does not match its hash"
BAD_TIME = "entry time is not a timestamp"

_INSTALL = (
    "install OpenSSH's ssh-keygen: `apt-get install openssh-client` (Debian, Ubuntu), "
    "`dnf install openssh-clients` (Fedora), `apk add openssh-keygen` (Alpine); macOS and "
    "Git for Windows ship it"
)
_NO_PASSPHRASE = (
    "sign with a key made without a passphrase and kept in a CI secret "
    "(`ssh-keygen -t ed25519 -N '' -C ci@github-actions -f ci_key`, see docs/signing.md)"
)
_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_ARMOR_END = "-----END SSH SIGNATURE-----"
_SIG_MAGIC = b"SSHSIG"
_KEY_MAGIC = b"openssh-key-v1\0"
_SIG_FIELDS = ("format", "signature", "key", "signer")
_DROPPED_ENV = (
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "SSH_ASKPASS",
    "SSH_SK_PROVIDER",
    "DISPLAY",
    "WAYLAND_DISPLAY",
)
_ENTRY_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$")
_SSH_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?Z?$")
_PRINCIPAL_BAD = re.compile(r'[\s,"]')
_TIME_OPTIONS = ("valid-after", "valid-before")
_OPTIONS = ("cert-authority", "namespaces", *_TIME_OPTIONS)


class SigningError(FatalError):
    """Signing or checking cannot be done at all: no ssh-keygen, or an unusable key.

    A signature that does not verify is not an error: ``check`` says why in its result.
    """


@dataclass(frozen=True)
class Signature:
    """A signature over an entry hash, as stored in ``Entry.extra["sig"]``.

    ``key`` (the key's SHA256 fingerprint) and ``signer`` (a principal) are what the
    signer claims; ``check`` holds both against the signature and the trusted list.
    """

    format: str
    signature: str
    key: str
    signer: str

    def to_json(self) -> dict[str, str]:
        return {
            "format": self.format,
            "signature": self.signature,
            "key": self.key,
            "signer": self.signer,
        }

    @classmethod
    def from_json(cls, data: object) -> Signature:
        """Read a stored signature. Raises ValueError when it is not one.

        Only the shape is checked here; whether the armored text is a signature at all is
        ``check``'s business (reason "malformed signature").
        """
        if not isinstance(data, dict):
            raise ValueError("a signature is an object with format, signature, key and signer")
        values: dict[str, str] = {}
        for name in _SIG_FIELDS:
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"signature field {name!r} is missing or not a non-empty string")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signature.

    ``signer`` is the principal the trusted list gives the key (set only when ``ok``);
    ``key`` is the fingerprint of the key that made the signature, when it could be read.
    ``reason`` is one of: "valid", "no signature", "unsupported signature format",
    "malformed signature", "wrong namespace", "claimed key does not match signature",
    "not a trusted signer", "key not allowed for this namespace", "key not valid at that
    time", "claimed signer does not match key", "bad signature", "entry does not match its
    hash", "entry time is not a timestamp", or ssh-keygen's own words when it failed in a
    way none of these describe.
    """

    ok: bool
    signer: str | None
    key: str | None
    reason: str


_UNSIGNED = SignatureCheck(False, None, None, NO_SIGNATURE)


def sign(digest: str, key: str | Path, *, signer: str) -> Signature:
    """Sign the entry hash ``digest`` with a private key.

    ``key`` is a path to a private key file, or the private key text itself (as a CI
    secret arrives in an environment variable); text is written to a 0600 file in a
    private temporary directory that is removed afterwards. Pass a ``Path`` to have a
    missing file named in the error; a string that is neither key text nor an existing
    file is never shown, since it may be a secret.
    """
    _check_digest(digest)
    _check_principal(signer)
    exe = _ssh_keygen()
    with _private_dir() as work:
        keyfile, label = _key_file(key, work)
        message = work / "digest"
        message.write_bytes(digest.encode("ascii"))
        args = [exe, "-Y", "sign", "-f", str(keyfile), "-n", NAMESPACE, str(message)]
        proc = _run(args, work, detach=True)
        if proc.returncode != 0:
            raise _sign_error(proc.stderr.decode("utf-8", "replace"), str(keyfile), label)
        armored = (work / "digest.sig").read_text("ascii")
    envelope = _envelope(armored)
    return Signature(FORMAT, _armor(envelope.blob), envelope.fingerprint, signer)


def check(
    digest: str,
    signature: Signature | None,
    allowed_signers: str,
    *,
    at: str | None = None,
) -> SignatureCheck:
    """Is ``signature`` a valid signature of ``digest`` by a signer ``allowed_signers`` trusts?

    ``allowed_signers`` is the text of an OpenSSH allowed-signers file (ValueError, with
    the line number, when a line is malformed). ``at`` is the time keys are judged at, in
    the form of an entry's ``time`` (``2026-11-21T12:10:35.578278Z``); default: now.
    """
    _check_digest(digest)
    verify_time = _verify_time(at) if at is not None else None
    lines = _parse(allowed_signers)
    job = _prepare(0, digest, signature, verify_time, lines)
    if isinstance(job, SignatureCheck):
        return job
    with _verifier(allowed_signers, lines) as verifier:
        return verifier.run(job)


def check_entries(entries: Iterable[Entry], allowed_signers: str) -> dict[str, SignatureCheck]:
    """The signature check of every entry, by entry hash.

    The signature is ``entry.extra["sig"]``; each is judged at the entry's own ``time``.
    An entry without one maps to reason "no signature" and costs no process; an entry
    whose content no longer matches its hash fails whatever its signature.

    Several stored copies may share a hash. Among intact copies (same content) the best
    verdict stands: a valid signature of a hash proves that a trusted key signed exactly
    that entry, and a garbled copy beside it changes nothing. But a copy whose content was
    edited under the old hash makes the hash fail ("entry does not match its hash"):
    results are keyed by hash, and a caller that looked up the edited copy must not find
    the genuine one's verdict.
    """
    lines = _parse(allowed_signers)
    results: dict[str, SignatureCheck] = {}
    jobs: list[_Job] = []
    for index, entry in enumerate(entries):
        prepared = _prepare_entry(index, entry, lines)
        if isinstance(prepared, SignatureCheck):
            _keep(results, entry.hash, prepared)
        else:
            jobs.append(prepared)
    if not jobs:
        return results
    with _verifier(allowed_signers, lines) as verifier:
        workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1, len(jobs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            verdicts = list(pool.map(verifier.run, jobs))
    for job, verdict in zip(jobs, verdicts, strict=True):
        _keep(results, job.digest, verdict)
    return results


def parse_allowed_signers(text: str) -> list[tuple[list[str], str]]:
    """(principals, "keytype base64") for each line of an allowed-signers file.

    Comments and blank lines are skipped. Options (``cert-authority``, ``namespaces``,
    ``valid-after``, ``valid-before``) are checked as ssh-keygen reads them. Raises
    ValueError naming the line number for a malformed line: ssh-keygen itself skips such a
    line silently, so a typo would quietly distrust a key.
    """
    return [(list(line.principals), line.key) for line in _parse(text)]


# -- the allowed-signers file ---------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    number: int
    principals: tuple[str, ...]
    options: dict[str, str]
    key: str


def _parse(text: str) -> list[_Line]:
    lines: list[_Line] = []
    # Lines end at "\n" only, as ssh-keygen reads them, so line numbers agree with it.
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            lines.append(_parse_line(number, stripped))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return lines


def _parse_line(number: int, text: str) -> _Line:
    tokens = _tokens(text)
    principals = _principals(tokens[0])
    rest = tokens[1:]
    options: dict[str, str] = {}
    if rest and _are_options(rest[0]):
        options = _options(rest[0])
        rest = rest[1:]
    if len(rest) < 2:
        after = "principals and options" if options else "principals"
        raise ValueError(f"expected a key type and base64 key data after the {after}")
    _check_key(rest[0], rest[1])
    return _Line(number, principals, options, f"{rest[0]} {rest[1]}")


def _are_options(token: str) -> bool:
    """Options always hold ``=`` or ``,`` or are ``cert-authority``; key types never do."""
    return "=" in token or "," in token or token.lower() == "cert-authority"


def _tokens(text: str) -> list[str]:
    """Split on whitespace outside double quotes."""
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char.isspace() and not quoted:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(char)
    if quoted:
        raise ValueError("a double quote is not closed")
    if current:
        tokens.append("".join(current))
    return tokens


def _principals(token: str) -> tuple[str, ...]:
    if token.startswith('"'):
        if len(token) < 2 or not token.endswith('"') or '"' in token[1:-1]:
            raise ValueError(f"badly quoted principals {token!r}")
        token = token[1:-1]
    elif '"' in token:
        raise ValueError(f"badly quoted principals {token!r}")
    names = tuple(token.split(","))
    if any(not name for name in names):
        raise ValueError(f"an empty principal in {token!r}")
    return names


def _options(token: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in _split_commas(token):
        name, sep, value = item.partition("=")
        name = name.lower()
        if name not in _OPTIONS:
            raise ValueError(f"unknown option {name!r} (expected one of {', '.join(_OPTIONS)})")
        if name == "cert-authority":
            if sep:
                raise ValueError("cert-authority takes no value")
            options[name] = ""
            continue
        if len(value) < 2 or not value.startswith('"') or not value.endswith('"'):
            raise ValueError(f'{name} needs a double-quoted value, as in {name}="..."')
        value = value[1:-1]
        if name in _TIME_OPTIONS:
            _ssh_time(value, name)
        elif not value:
            raise ValueError("namespaces is empty")
        options[name] = value
    return options


def _split_commas(token: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in token:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    if any(not item for item in items):
        raise ValueError(f"an empty option in {token!r}")
    return items


def _ssh_time(value: str, name: str) -> None:
    match = _SSH_TIME.match(value)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(
            f"{name} {value!r} is not a time in the form YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]"
        ) from None


def _check_key(key_type: str, data: str) -> None:
    try:
        blob = base64.b64decode(data, validate=True)
        embedded = _Reader(blob).string().decode("ascii")
    except ValueError:
        raise ValueError(f"the key after {key_type!r} is not base64 key data") from None
    if embedded != key_type:
        raise ValueError(f"the key data is a {embedded!r} key, not {key_type!r}")


# -- the signature envelope -------------------------------------------------------------------


class _Reader:
    """Reads the SSH wire encoding: uint32 big-endian lengths before byte strings."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def string(self) -> bytes:
        return self.take(self.uint32())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ValueError("trailing bytes")


@dataclass(frozen=True)
class _Envelope:
    blob: bytes
    key_type: str
    fingerprint: str
    namespace: str


def _envelope(text: str) -> _Envelope:
    """Read an armored SSHSIG (OpenSSH's PROTOCOL.sshsig). ValueError when it is not one."""
    if len(text) > MAX_SIGNATURE_CHARS:
        raise ValueError("too long")
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise ValueError("not an armored SSH signature")
    blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    reader = _Reader(blob)
    if reader.take(len(_SIG_MAGIC)) != _SIG_MAGIC or reader.uint32() != 1:
        raise ValueError("not an SSHSIG version 1 blob")
    public = reader.string()
    namespace = reader.string().decode("utf-8")
    reader.string()  # reserved
    reader.string()  # hash algorithm
    reader.string()  # the signature proper
    reader.end()
    key_type = _Reader(public).string().decode("ascii")
    digest = base64.b64encode(hashlib.sha256(public).digest()).decode("ascii")
    return _Envelope(blob, key_type, "SHA256:" + digest.rstrip("="), namespace)


def _armor(blob: bytes) -> str:
    body = base64.b64encode(blob).decode("ascii")
    wrapped = "\n".join(body[i : i + 70] for i in range(0, len(body), 70))
    return f"{_ARMOR_BEGIN}\n{wrapped}\n{_ARMOR_END}\n"


# -- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    index: int
    digest: str
    signature: Signature
    envelope: _Envelope
    verify_time: str | None


def _prepare_entry(index: int, entry: Entry, lines: list[_Line]) -> _Job | SignatureCheck:
    if not entry.intact:
        return SignatureCheck(False, None, None, ENTRY_EDITED)
    stored = entry.extra.get(SIG_FIELD)
    if stored is None:
        return _UNSIGNED
    try:
        signature = Signature.from_json(stored)
    except ValueError:
        return SignatureCheck(False, None, None, MALFORMED)
    try:
        verify_time = _verify_time(entry.time)
    except ValueError:
        return SignatureCheck(False, None, None, BAD_TIME)
    return _prepare(index, entry.hash, signature, verify_time, lines)


def _prepare(
    index: int,
    digest: str,
    signature: Signature | None,
    verify_time: str | None,
    lines: list[_Line],
) -> _Job | SignatureCheck:
    """The checks that need no process; a job for ssh-keygen when they all pass."""
    if signature is None:
        return _UNSIGNED
    if signature.format != FORMAT:
        return SignatureCheck(False, None, None, UNSUPPORTED_FORMAT)
    try:
        envelope = _envelope(signature.signature)
    except ValueError:
        return SignatureCheck(False, None, None, MALFORMED)
    fingerprint = envelope.fingerprint
    if envelope.namespace != NAMESPACE:
        return SignatureCheck(False, None, fingerprint, WRONG_NAMESPACE)
    if signature.key != fingerprint:
        return SignatureCheck(False, None, fingerprint, KEY_MISMATCH)
    if not lines:
        return SignatureCheck(False, None, fingerprint, NOT_TRUSTED)
    return _Job(index, digest, signature, envelope, verify_time)


def _keep(results: dict[str, SignatureCheck], digest: str, verdict: SignatureCheck) -> None:
    """Keep per hash: an edited copy's verdict, else valid, else signed, else unsigned."""
    held = results.get(digest)
    if held is None or _rank(verdict) > _rank(held):
        results[digest] = verdict


def _rank(verdict: SignatureCheck) -> int:
    if verdict.reason == ENTRY_EDITED:
        return 3
    if verdict.ok:
        return 2
    return 0 if verdict.reason == NO_SIGNATURE else 1


@dataclass
class _Verifier:
    """ssh-keygen over one written allowed-signers file; safe to use from several threads."""

    exe: str
    work: Path
    allowed: Path
    timeless: bool
    _principals: dict[tuple[str, str | None], tuple[tuple[str, ...], str]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, job: _Job) -> SignatureCheck:
        sigfile = self.work / f"{job.index}.sig"
        sigfile.write_text(_armor(job.envelope.blob), encoding="ascii")
        try:
            return self._judge(job, sigfile)
        finally:
            sigfile.unlink()

    def _judge(self, job: _Job, sigfile: Path) -> SignatureCheck:
        fingerprint = job.envelope.fingerprint
        found, why = self._find(job, sigfile)
        if not found:
            return SignatureCheck(False, None, fingerprint, why)
        claim = job.signature.signer
        listed = claim in found
        if listed or any(_is_pattern(p) for p in found):
            # A listed claim is verified as itself; against a pattern line, ssh-keygen
            # decides whether the pattern covers the claim.
            verdict = self._verify(job, sigfile, claim)
            if verdict.ok or listed:
                return verdict
        # The claim is not backed by the file: say so if the signature is otherwise
        # good, else say what is wrong with it.
        verdicts = [self._verify(job, sigfile, principal) for principal in found]
        if any(v.ok for v in verdicts):
            return SignatureCheck(False, None, fingerprint, CLAIM_MISMATCH)
        return verdicts[0]

    def _find(self, job: _Job, sigfile: Path) -> tuple[tuple[str, ...], str]:
        """The principals the allowed-signers file gives the signature's key, or why none."""
        cert = job.envelope.key_type.endswith("-cert-v01@openssh.com")
        moment = None if self.timeless and not cert else job.verify_time
        cache_key = (job.envelope.fingerprint, moment)
        with self._lock:
            cached = self._principals.get(cache_key)
        if cached is not None:
            return cached
        args = [self.exe, "-Y", "find-principals", "-s", str(sigfile), "-f", str(self.allowed)]
        proc = _run(args + _time_option(job.verify_time), self.work)
        out = proc.stdout.decode("utf-8", "replace")
        found = tuple(line.strip() for line in out.splitlines() if line.strip())
        result = (found, "") if proc.returncode == 0 and found else ((), _find_failure(proc))
        with self._lock:
            self._principals[cache_key] = result
        return result

    def _verify(self, job: _Job, sigfile: Path, principal: str) -> SignatureCheck:
        args = [self.exe, "-Y", "verify", "-f", str(self.allowed), "-I", principal]
        args += ["-n", NAMESPACE, "-s", str(sigfile), *_time_option(job.verify_time)]
        proc = _run(args, self.work, stdin=job.digest.encode("ascii"))
        fingerprint = job.envelope.fingerprint
        if proc.returncode == 0 and proc.stdout.startswith(b"Good "):
            return SignatureCheck(True, principal, fingerprint, VALID)
        return SignatureCheck(False, None, fingerprint, _verify_failure(proc))


@contextmanager
def _verifier(allowed_signers: str, lines: list[_Line]) -> Iterator[_Verifier]:
    exe = _ssh_keygen()
    with _private_dir() as work:
        allowed = work / "allowed_signers"
        allowed.write_text(allowed_signers.rstrip("\n") + "\n", encoding="utf-8")
        timeless = not any(name in line.options for line in lines for name in _TIME_OPTIONS)
        yield _Verifier(exe, work, allowed, timeless)


def _find_failure(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode("utf-8", "replace")
    lower = text.lower()
    if "key has expired" in lower or "key is not yet valid" in lower:
        return KEY_NOT_VALID_THEN
    if "no principal matched" in lower or proc.returncode == 0:
        return NOT_TRUSTED
    if "parse signature" in lower:
        return MALFORMED
    return f"ssh-keygen could not look up the signer: {_last_line(text)}"


def _verify_failure(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode("utf-8", "replace")
    lower = text.lower()
    if "namespace does not match" in lower:
        return WRONG_NAMESPACE
    if "not permitted for use in signature namespace" in lower:
        return NAMESPACE_NOT_ALLOWED
    if "key has expired" in lower or "key is not yet valid" in lower:
        return KEY_NOT_VALID_THEN
    if "parse signature" in lower:
        return MALFORMED
    if "could not verify" in lower or "incorrect signature" in lower:
        return BAD_SIGNATURE
    return f"ssh-keygen could not verify: {_last_line(text)}"


def _is_pattern(principal: str) -> bool:
    return any(char in principal for char in "*?!")


def _time_option(verify_time: str | None) -> list[str]:
    return [] if verify_time is None else ["-O", f"verify-time={verify_time}"]


def _verify_time(at: str) -> str:
    """An entry time (``2026-11-21T12:10:35.578278Z``) as ssh-keygen's ``YYYYMMDDHHMMSS``.

    Without a "Z": older ssh-keygen does not accept one, and ``_run`` sets TZ to UTC.
    """
    match = _ENTRY_TIME.match(at)
    if match is None:
        raise ValueError(f"not a UTC time like 2026-11-21T12:10:35Z: {at!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    dt.datetime(year, month, day, hour, minute, second)  # rejects a 30th of February
    return f"{year:04d}{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}"


# -- signing ----------------------------------------------------------------------------------


def _key_file(key: str | Path, work: Path) -> tuple[Path, str]:
    """The key file to hand ssh-keygen, and how to name the key in messages."""
    if isinstance(key, str) and "-----BEGIN " in key:
        text = _key_text(key)
        label = "the signing key (given as text)"
        if _is_encrypted(text):
            raise SigningError(f"{label} is protected by a passphrase", fix=_NO_PASSPHRASE)
        path = work / "key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path, label
    shown = isinstance(key, Path) or os.path.lexists(key)
    label = f"the signing key {key}" if shown else "the signing key"
    try:
        with open(key, "rb") as handle:
            data = handle.read(MAX_KEY_BYTES)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and shown else None
        if not shown:
            label += " (neither private key text nor a readable file; its value is not shown)"
        raise SigningError(
            f"cannot read {label}" + (f": {reason}" if reason else ""),
            fix="give the path of a private key file, or the key's full text with its "
            "BEGIN and END lines",
        ) from None
    if _is_encrypted(data.decode("utf-8", "replace")):
        raise SigningError(f"{label} is protected by a passphrase", fix=_NO_PASSPHRASE)
    return Path(os.path.abspath(key)), label


def _key_text(key: str) -> str:
    """Key text as a file: one key line per line, trailing newline, escaped newlines undone.

    A secret pasted into a CI variable may arrive with CRLF line ends, indentation, no
    final newline (which ssh-keygen rejects) or literal ``\\n`` sequences.
    """
    text = key.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text.strip() and "\\n" in text:
        text = text.replace("\\n", "\n")
    return "\n".join(line.strip() for line in text.strip().splitlines()) + "\n"


def _is_encrypted(text: str) -> bool:
    """Does this private key need a passphrase? (OpenSSH and PEM formats.)"""
    lines = [line.strip() for line in text.splitlines()]
    if "Proc-Type: 4,ENCRYPTED" in lines or "-----BEGIN ENCRYPTED PRIVATE KEY-----" in lines:
        return True
    try:
        start = lines.index("-----BEGIN OPENSSH PRIVATE KEY-----")
        end = lines.index("-----END OPENSSH PRIVATE KEY-----", start)
        reader = _Reader(base64.b64decode("".join(lines[start + 1 : end]), validate=True))
        return reader.take(len(_KEY_MAGIC)) == _KEY_MAGIC and reader.string() != b"none"
    except ValueError:
        return False


def _sign_error(stderr: str, keyfile: str, label: str) -> SigningError:
    said = stderr.replace(keyfile, "KEY")
    lower = said.lower()
    if "passphrase" in lower:
        return SigningError(f"{label} is protected by a passphrase", fix=_NO_PASSPHRASE)
    if "unprotected private key file" in lower or "too open" in lower:
        return SigningError(
            f"{label} can be read by other users, so ssh-keygen refuses to use it",
            fix=f"chmod 600 {keyfile}",
        )
    loading = ("invalid format", "couldn't load", "no private key found", "libcrypto", "invalid")
    if any(word in lower for word in loading):
        return SigningError(
            f"{label} is not a private key ssh-keygen can load",
            fix="give the private key (not the .pub file), in OpenSSH or PEM format, with "
            "its BEGIN and END lines",
        )
    return SigningError(f"ssh-keygen could not sign with {label}: {_last_line(said)}")


def _check_digest(digest: str) -> None:
    if not HASH_RE.match(digest):
        raise ValueError(f"not an entry hash (64 lowercase hex digits): {digest!r}")


def _check_principal(signer: str) -> None:
    if not signer or _PRINCIPAL_BAD.search(signer) or not signer.isprintable():
        raise ValueError(f"not a principal (no spaces, commas or quotes): {signer!r}")


# -- processes ----------------------------------------------------------------------------


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise SigningError(
            "ssh-keygen is not on PATH; convergio-gate signs and checks audit entries with it",
            fix=_INSTALL,
        )
    return exe


@contextmanager
def _private_dir() -> Iterator[Path]:
    """A directory only we can read (0700), removed with everything in it afterwards."""
    with tempfile.TemporaryDirectory(prefix="convergio-gate-sig-") as name:
        yield Path(name)


def _run(
    args: list[str], work: Path, stdin: bytes | None = None, *, detach: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run ssh-keygen so that it can neither prompt nor block, nor touch the real $HOME.

    ``detach`` (for signing, the one operation that may want a passphrase) runs it in a
    new session, without a controlling terminal to prompt on. Verifying reads public keys
    only and never prompts; it is not detached because that costs a full fork (about 9 ms a
    call against 16) where the default can spawn.
    """
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    # TZ: ssh-keygen reads times without a "Z" (valid-after, valid-before, verify-time) in
    # the local zone; in UTC, the verdict is the same on every machine.
    env.update(HOME=str(work), SSH_ASKPASS_REQUIRE="never", LC_ALL="C", TZ="UTC0")
    try:
        return subprocess.run(
            args,
            input=b"" if stdin is None else stdin,
            capture_output=True,
            cwd=work,
            env=env,
            timeout=TIMEOUT_S,
            start_new_session=detach,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SigningError(
            f"ssh-keygen did not finish within {TIMEOUT_S:.0f} seconds",
            fix="check that `ssh-keygen -Y sign` and `ssh-keygen -Y verify` work on this "
            "machine (they need OpenSSH 8.9 or later; `ssh -V` shows the version)",
        ) from None
    except OSError as exc:
        raise SigningError(f"cannot run {args[0]}: {exc.strerror}", fix=_INSTALL) from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"
