"""Signing audit entries with real ssh-keygen and real keys made in temp dirs."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from convergio_gate.audit import signing
from convergio_gate.audit.chain import Chain
from convergio_gate.audit.entry import Draft, Entry
from convergio_gate.audit.signing import (
    NAMESPACE,
    Signature,
    SignatureCheck,
    SigningError,
    check,
    check_entries,
    parse_allowed_signers,
    sign,
)
from convergio_gate.gitio import Git, Identity

ME = Identity("Tess Tester", "tess@example.com")
CI = "ci@github-actions"
DIGEST = hashlib.sha256(b"an audit entry").hexdigest()


def keygen(path: Path, *, comment: str = CI, passphrase: str = "") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return path


def public(key: Path) -> str:
    """'keytype base64' of a key's public half."""
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


def fingerprint(key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[1]


@dataclass(frozen=True)
class Keys:
    ci: Path
    other: Path
    dir: Path

    def allowed(self, options: str = "", principals: str = CI) -> str:
        spaced = f" {options}" if options else ""
        return f"# trusted\n{principals}{spaced} {public(self.ci)} ci key\n"


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    where = tmp_path / "keys"
    where.mkdir()
    return Keys(keygen(where / "ci_key"), keygen(where / "other_key", comment="x@y"), where)


# -- sign and check ---------------------------------------------------------------------


def test_round_trip(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    assert signature.format == "ssh"
    assert signature.signature.startswith("-----BEGIN SSH SIGNATURE-----\n")
    assert signature.key == fingerprint(keys.ci)
    assert Signature.from_json(signature.to_json()) == signature
    result = check(DIGEST, signature, keys.allowed())
    assert result == SignatureCheck(True, CI, signature.key, "valid")


def test_a_key_path_given_as_a_string_works(keys: Keys) -> None:
    signature = sign(DIGEST, str(keys.ci), signer=CI)
    assert check(DIGEST, signature, keys.allowed()).ok


def test_a_tampered_digest_fails(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    other = hashlib.sha256(b"another entry").hexdigest()
    result = check(other, signature, keys.allowed())
    assert (result.ok, result.reason, result.signer) == (False, "bad signature", None)


def test_an_unlisted_key_is_not_trusted(keys: Keys) -> None:
    signature = sign(DIGEST, keys.other, signer=CI)
    result = check(DIGEST, signature, keys.allowed())
    assert (result.ok, result.reason) == (False, "not a trusted signer")
    assert result.key == fingerprint(keys.other)


def test_no_trusted_signers_trust_nobody(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    assert check(DIGEST, signature, "# nobody yet\n").reason == "not a trusted signer"


def test_no_signature(keys: Keys) -> None:
    assert check(DIGEST, None, keys.allowed()) == SignatureCheck(False, None, None, "no signature")


def test_a_key_listed_for_another_namespace_fails(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    result = check(DIGEST, signature, keys.allowed('namespaces="git,file"'))
    assert (result.ok, result.reason) == (False, "key not allowed for this namespace")
    assert check(DIGEST, signature, keys.allowed(f'namespaces="git,{NAMESPACE}"')).ok


def test_a_git_namespace_signature_of_the_same_data_fails(keys: Keys, tmp_path: Path) -> None:
    """A signature made for a commit (namespace "git") never passes as an acceptance."""
    message = tmp_path / "digest"
    message.write_text(DIGEST)
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(keys.ci), "-n", "git", str(message)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    armored = Path(f"{message}.sig").read_text()
    forged = Signature("ssh", armored, fingerprint(keys.ci), CI)
    result = check(DIGEST, forged, keys.allowed())
    assert (result.ok, result.reason) == (False, "wrong namespace")


@pytest.mark.parametrize(
    "text",
    [
        "not a signature",
        "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\n!!!not base64!!!\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\nTk9UU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n",
    ],
)
def test_malformed_signature_text_fails(keys: Keys, text: str) -> None:
    malformed = Signature("ssh", text, "SHA256:x", CI)
    result = check(DIGEST, malformed, keys.allowed())
    assert (result.ok, result.reason) == (False, "malformed signature")


def test_a_truncated_signature_fails(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    lines = signature.signature.splitlines()
    cut = dataclasses.replace(signature, signature="\n".join(lines[:2] + lines[-1:]))
    assert check(DIGEST, cut, keys.allowed()).reason == "malformed signature"


def test_a_corrupted_signature_fails(keys: Keys) -> None:
    """A well-formed envelope with one flipped bit in the signature: only ssh-keygen can tell."""
    signature = sign(DIGEST, keys.ci, signer=CI)
    lines = signature.signature.splitlines()
    blob = bytearray(base64.b64decode("".join(lines[1:-1])))
    blob[-1] ^= 0x01
    body = base64.b64encode(bytes(blob)).decode()
    corrupted = dataclasses.replace(signature, signature=f"{lines[0]}\n{body}\n{lines[-1]}\n")
    result = check(DIGEST, corrupted, keys.allowed())
    assert (result.ok, result.reason, result.key) == (False, "bad signature", signature.key)


def test_a_signer_that_lies_about_the_principal_fails(keys: Keys) -> None:
    lying = sign(DIGEST, keys.ci, signer="admin@example.com")
    result = check(DIGEST, lying, keys.allowed())
    assert (result.ok, result.reason, result.signer) == (
        False,
        "claimed signer does not match key",
        None,
    )


def test_the_principal_comes_from_the_file_not_the_claim(keys: Keys) -> None:
    """The other key claims to be CI; the file lists it as someone else."""
    allowed = keys.allowed() + f"x@y {public(keys.other)}\n"
    claims_ci = sign(DIGEST, keys.other, signer=CI)
    assert check(DIGEST, claims_ci, allowed).reason == "claimed signer does not match key"
    honest = sign(DIGEST, keys.other, signer="x@y")
    assert check(DIGEST, honest, allowed) == SignatureCheck(
        True, "x@y", fingerprint(keys.other), "valid"
    )


def test_a_claimed_key_that_is_not_the_signing_key_fails(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    lying = dataclasses.replace(signature, key=fingerprint(keys.other))
    assert check(DIGEST, lying, keys.allowed()).reason == "claimed key does not match signature"


def test_a_pattern_line_covers_the_claims_it_matches(keys: Keys) -> None:
    allowed = keys.allowed(principals="*@github-actions")
    assert check(DIGEST, sign(DIGEST, keys.ci, signer=CI), allowed).signer == CI
    elsewhere = sign(DIGEST, keys.ci, signer="ci@elsewhere")
    assert check(DIGEST, elsewhere, allowed).reason == "claimed signer does not match key"


def test_several_principals_on_one_line(keys: Keys) -> None:
    allowed = keys.allowed(principals=f"release@example.com,{CI}")
    for principal in ("release@example.com", CI):
        assert check(DIGEST, sign(DIGEST, keys.ci, signer=principal), allowed).signer == principal


def test_an_unknown_signature_format_fails(keys: Keys) -> None:
    signature = dataclasses.replace(sign(DIGEST, keys.ci, signer=CI), format="x509")
    assert check(DIGEST, signature, keys.allowed()).reason == "unsupported signature format"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        [],
        {},
        {"format": "ssh", "signature": "s", "key": "k"},
        {"format": "ssh", "signature": "s", "key": "k", "signer": 3},
        {"format": "ssh", "signature": "", "key": "k", "signer": "p"},
    ],
)
def test_from_json_refuses_what_is_not_a_signature(data: object) -> None:
    with pytest.raises(ValueError):
        Signature.from_json(data)


def test_arguments_are_checked(keys: Keys) -> None:
    with pytest.raises(ValueError, match="entry hash"):
        sign("abc", keys.ci, signer=CI)
    with pytest.raises(ValueError, match="entry hash"):
        check(DIGEST.upper(), None, keys.allowed())
    for bad in ("", "two words", "a,b", 'q"uote'):
        with pytest.raises(ValueError, match="principal"):
            sign(DIGEST, keys.ci, signer=bad)


# -- keys, secrets and ssh-keygen itself ------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory tempfile uses, so a test can see what was left behind."""
    where = tmp_path / "scratch"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def test_a_key_given_as_text_works_and_leaves_nothing_behind(keys: Keys, scratch: Path) -> None:
    text = keys.ci.read_text()
    signature = sign(DIGEST, text, signer=CI)
    assert check(DIGEST, signature, keys.allowed()).ok
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.rstrip("\n"),  # no final newline: ssh-keygen alone would refuse it
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.strip().replace("\n", "\\n"),  # escaped newlines in one variable
        lambda t: "\n  " + t.replace("\n", "\n  "),
    ],
)
def test_key_text_as_ci_variables_deliver_it(keys: Keys, mangle: object) -> None:
    assert callable(mangle)
    signature = sign(DIGEST, mangle(keys.ci.read_text()), signer=CI)
    assert check(DIGEST, signature, keys.allowed()).ok


def secret_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("-----")]


def test_an_encrypted_key_is_refused_without_a_prompt(tmp_path: Path, scratch: Path) -> None:
    locked = keygen(tmp_path / "locked", passphrase="correct horse")
    started = time.monotonic()
    with pytest.raises(SigningError, match="passphrase") as raised:
        sign(DIGEST, locked, signer=CI)
    text = locked.read_text()
    with pytest.raises(SigningError, match="passphrase") as raised_text:
        sign(DIGEST, text, signer=CI)
    assert time.monotonic() - started < 10
    assert str(locked) in str(raised.value)
    for line in secret_lines(text):
        assert line not in str(raised_text.value)
    assert list(scratch.iterdir()) == []


def test_ssh_keygen_itself_cannot_prompt_for_a_passphrase(tmp_path: Path) -> None:
    """Were an encrypted key to get past the format check, ssh-keygen fails fast."""
    locked = keygen(tmp_path / "locked", passphrase="correct horse")
    (tmp_path / "msg").write_text(DIGEST)
    exe = signing._ssh_keygen()
    args = [exe, "-Y", "sign", "-f", str(locked), "-n", NAMESPACE, str(tmp_path / "msg")]
    started = time.monotonic()
    proc = signing._run(args, tmp_path, detach=True)
    assert time.monotonic() - started < 10
    assert proc.returncode != 0
    error = signing._sign_error(proc.stderr.decode(), str(locked), "the key")
    assert "passphrase" in error.message


def test_bad_key_material_given_as_text_is_not_echoed(keys: Keys, scratch: Path) -> None:
    body = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 3
    text = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
    with pytest.raises(SigningError, match="not a private key") as raised:
        sign(DIGEST, text, signer=CI)
    assert body not in str(raised.value) and body[:20] not in str(raised.value)
    assert list(scratch.iterdir()) == []


def test_a_public_key_is_not_a_signing_key(keys: Keys, tmp_path: Path) -> None:
    alone = tmp_path / "alone.pub"
    alone.write_text(Path(f"{keys.ci}.pub").read_text())
    with pytest.raises(SigningError, match="not a private key"):
        sign(DIGEST, alone, signer=CI)


def test_a_key_readable_by_others_is_refused(keys: Keys) -> None:
    keys.ci.chmod(0o644)
    with pytest.raises(SigningError, match="other users") as raised:
        sign(DIGEST, keys.ci, signer=CI)
    assert f"chmod 600 {keys.ci}" in str(raised.value)


def test_a_missing_key_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ci_key"
    with pytest.raises(SigningError, match="cannot read") as raised:
        sign(DIGEST, missing, signer=CI)
    assert str(missing) in str(raised.value)


def test_a_string_that_is_neither_a_file_nor_key_text_is_not_shown() -> None:
    garbled = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    with pytest.raises(SigningError, match="not shown") as raised:
        sign(DIGEST, garbled, signer=CI)
    assert garbled not in str(raised.value)


def test_missing_ssh_keygen_names_the_package(
    keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SigningError, match="openssh-client") as raised:
        sign(DIGEST, keys.ci, signer=CI)
    assert "ssh-keygen is not on PATH" in str(raised.value)
    with pytest.raises(SigningError, match="openssh-client"):
        check(DIGEST, signature, keys.allowed())


# -- key validity in time -----------------------------------------------------------------


def test_a_retired_key_still_verifies_what_it_signed_while_current(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    allowed = keys.allowed('valid-before="20250101Z"')
    assert check(DIGEST, signature, allowed, at="2024-12-31T23:59:59.999999Z").ok
    assert check(DIGEST, signature, allowed, at="2025-01-01T00:00:01Z").reason == (
        "key not valid at that time"
    )
    assert check(DIGEST, signature, allowed).reason == "key not valid at that time"


def test_a_key_is_not_valid_before_its_valid_after(keys: Keys) -> None:
    signature = sign(DIGEST, keys.ci, signer=CI)
    allowed = keys.allowed('valid-after="20300101Z"')
    assert check(DIGEST, signature, allowed, at="2029-06-01T00:00:00Z").reason == (
        "key not valid at that time"
    )
    assert check(DIGEST, signature, allowed, at="2030-06-01T00:00:00Z").ok


def test_times_are_utc_whatever_the_machine_zone(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine hours east of UTC, 05:00Z on New Year's Day is still after a Z cutoff."""
    monkeypatch.setenv("TZ", "JST-9")
    signature = sign(DIGEST, keys.ci, signer=CI)
    for cutoff in ('valid-before="20250101Z"', 'valid-before="20250101000000"'):
        allowed = keys.allowed(cutoff)
        assert check(DIGEST, signature, allowed, at="2024-12-31T23:00:00Z").ok
        late = check(DIGEST, signature, allowed, at="2025-01-01T05:00:00Z")
        assert late.reason == "key not valid at that time"


def test_at_must_be_an_entry_time(keys: Keys) -> None:
    with pytest.raises(ValueError, match="UTC"):
        check(DIGEST, None, keys.allowed(), at="yesterday")
    with pytest.raises(ValueError):
        check(DIGEST, None, keys.allowed(), at="2026-02-30T00:00:00Z")


# -- allowed signers ----------------------------------------------------------------------


def test_parse_allowed_signers(keys: Keys) -> None:
    ci, other = public(keys.ci), public(keys.other)
    text = (
        "# CI and the release manager\n"
        "\n"
        f"{CI} {ci}\n"
        f'  release@example.com,ops@example.com namespaces="{NAMESPACE}" {other} a comment\n'
        f'"quoted@example.com,with space" cert-authority,valid-after="20240101",'
        f'valid-before="202612310000Z" {other}\n'
        f'old@example.com VALID-BEFORE="20250101000000Z" {ci}\n'
    )
    assert parse_allowed_signers(text) == [
        ([CI], ci),
        (["release@example.com", "ops@example.com"], other),
        (["quoted@example.com", "with space"], other),
        (["old@example.com"], ci),
    ]
    assert parse_allowed_signers("") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ci@x", "key type and base64 key data after the principals"),
        ("ci@x ssh-ed25519", "key type and base64 key data after the principals"),
        ('ci@x namespaces="git" ssh-ed25519', "after the principals and options"),
        ("ci@x ssh-ed25519 AAAA!!", "not base64"),
        ('ci@x foo="bar" KEY', "unknown option 'foo'"),
        ("ci@x namespaces=convergio-gate KEY", "double-quoted"),
        ('ci@x valid-before="2020" KEY', "YYYYMMDD"),
        ('ci@x valid-after="20251301" KEY', "YYYYMMDD"),
        ('ci@x cert-authority="yes" KEY', "no value"),
        ('ci@x namespaces="" KEY', "empty"),
        ('ci@x namespaces="git KEY', "not closed"),
        ("ci@x,,b@x KEY", "empty principal"),
        ('ci@"x KEY"', "quoted"),
        ("ci@x ssh-rsa KEYDATA", "not 'ssh-rsa'"),
    ],
)
def test_malformed_allowed_signers_lines_name_their_line(
    keys: Keys, line: str, message: str
) -> None:
    key = public(keys.ci)
    line = line.replace("KEYDATA", key.split()[1]).replace("KEY", key)
    with pytest.raises(ValueError, match=r"^line 4: ") as raised:
        parse_allowed_signers(f"# header\n{CI} {key}\n\n{line}\n")
    assert message in str(raised.value)


def test_what_parse_refuses_ssh_keygen_ignores(keys: Keys) -> None:
    """A malformed line would silently distrust its key; check refuses the whole file."""
    signature = sign(DIGEST, keys.ci, signer=CI)
    with pytest.raises(ValueError, match="line 1"):
        check(DIGEST, signature, f"{CI} namespaces=unquoted {public(keys.ci)}\n")


# -- a whole chain ------------------------------------------------------------------------


def signed_copy(entry: Entry, key: Path, signer: str = CI) -> Entry:
    signature = sign(entry.hash, key, signer=signer)
    stored = Entry.from_body(entry.body(), entry.hash, {"sig": signature.to_json()})
    return Entry.from_bytes(stored.to_bytes())


def signer_of(key: Path, principal: str = CI) -> Callable[[str], dict[str, str]]:
    return lambda digest: sign(digest, key, signer=principal).to_json()


def test_check_entries_over_a_chain_of_fifty(repo: Path, keys: Keys) -> None:
    """Entries signed as the chain appends them, stored in git notes and read back."""
    chain = Chain(Git.discover(repo))

    def drafts(first: int, count: int) -> list[Draft]:
        return [
            Draft("accept" if n % 2 else "check", f"plan/task-{n}", "accepted", str(ME))
            for n in range(first, first + count)
        ]

    unsigned = chain.append_many(drafts(0, 10), ME)
    signed = chain.append_many(drafts(10, 36), ME, signer_of(keys.ci))
    untrusted = chain.append_many(drafts(46, 1), ME, signer_of(keys.other))
    lying = chain.append_many(drafts(47, 1), ME, signer_of(keys.ci, "root@example.com"))
    last = chain.append_many(drafts(48, 2), ME, signer_of(keys.ci))
    read = chain.entries()
    assert [e.hash for e in read] == [e.hash for e in unsigned + signed + untrusted + lying + last]
    assert all(e.extra["sig"]["signer"] for e in read[10:])
    edited = Entry.from_body(
        {**read[48].body(), "decision": "refused"}, read[48].hash, read[48].extra
    )
    garbled = Entry.from_body(read[49].body(), read[49].hash, {"sig": {"format": "ssh"}})

    checks = check_entries([*read[:48], edited, garbled], keys.allowed())

    assert set(checks) == {e.hash for e in read}
    assert all(checks[e.hash].reason == "no signature" for e in unsigned)
    valid = SignatureCheck(True, CI, fingerprint(keys.ci), "valid")
    assert all(checks[e.hash] == valid for e in signed)
    assert checks[untrusted[0].hash].reason == "not a trusted signer"
    assert checks[lying[0].hash].reason == "claimed signer does not match key"
    assert checks[edited.hash].reason == "entry does not match its hash"
    assert checks[garbled.hash].reason == "malformed signature"


def test_check_entries_judges_each_entry_at_its_own_time(keys: Keys) -> None:
    """After a rotation, the old key's entries verify; one it signs later does not."""
    before = Entry.seal(
        Draft("accept", "t/1", "accepted", CI),
        seq=1,
        prev="0" * 64,
        time="2024-06-01T10:00:00.000000Z",
    )
    after = Entry.seal(
        Draft("accept", "t/2", "accepted", CI),
        seq=2,
        prev=before.hash,
        time="2025-06-01T10:00:00.000000Z",
    )
    allowed = keys.allowed('valid-before="20250101Z"')
    checks = check_entries([signed_copy(before, keys.ci), signed_copy(after, keys.ci)], allowed)
    assert checks[before.hash].ok
    assert checks[after.hash].reason == "key not valid at that time"


def test_a_valid_copy_of_an_entry_wins_over_a_bad_one(keys: Keys) -> None:
    entry = Entry.seal(Draft("accept", "t/1", "accepted", CI), seq=1, prev="0" * 64)
    good = signed_copy(entry, keys.ci)
    bad = signed_copy(entry, keys.other)
    for order in ([good, bad], [bad, good], [entry, bad, good]):
        assert check_entries(order, keys.allowed())[entry.hash].ok


def test_an_edited_copy_poisons_its_hash(keys: Keys) -> None:
    """A signed acceptance of t/1 copied as one of t/2 under the same hash and signature:
    a caller holding the copy must not find the original's verdict under that hash."""
    entry = Entry.seal(Draft("accept", "t/1", "accepted", CI), seq=1, prev="0" * 64)
    good = signed_copy(entry, keys.ci)
    copy = Entry.from_body({**good.body(), "subject": "t/2"}, good.hash, good.extra)
    unsigned_copy = Entry.from_body(copy.body(), copy.hash)
    for order in ([good, copy], [copy, good], [unsigned_copy, good]):
        verdict = check_entries(order, keys.allowed())[entry.hash]
        assert verdict.reason == "entry does not match its hash"


def test_unsigned_entries_need_no_ssh_keygen(
    keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [
        Entry.seal(Draft("check", f"s/{n}", "accepted", CI), seq=n, prev="0" * 64)
        for n in range(1, 20)
    ]
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    checks = check_entries(entries, keys.allowed())
    assert {c.reason for c in checks.values()} == {"no signature"}


def test_check_entries_reuses_one_lookup_per_key(keys: Keys, scratch: Path) -> None:
    """Twenty signatures by one key, checked in a thread pool; nothing left behind."""
    entries = [
        signed_copy(
            Entry.seal(Draft("accept", f"t/{n}", "accepted", CI), seq=n, prev="0" * 64), keys.ci
        )
        for n in range(1, 21)
    ]
    started = time.monotonic()
    checks = check_entries(entries, keys.allowed())
    assert all(c.ok for c in checks.values()) and len(checks) == 20
    assert time.monotonic() - started < 20
    assert list(scratch.iterdir()) == []
