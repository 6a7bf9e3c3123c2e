"""The secret gate: credentials written into the code are refused before they reach git.

A secret that reaches a commit is leaked for good: every clone, fork and CI cache keeps
it, so the only real fix is to revoke it. This gate therefore runs on every commit, in
the pre-commit hook, and has to be both fast and quiet:

* **Rules are data** (``rules/secrets.yaml``, gitleaks-style): a token format or a
  ``name = "value"`` shape, keywords, a minimum entropy and a rule-level allowlist. The
  keywords are a cheap pre-filter: a rule's regex only runs on the lines (or, for a
  multi-line rule, the files) that contain one of them. All keywords of all rules are
  found in one go per file (:class:`KeywordIndex`: a prefix-factored regex per first
  letter, about 20 passes over the lower-cased text instead of one per keyword), so a
  file costs those passes plus each rule's regex over a few lines.
* **"Not a secret" is a set of pure predicates** (``is_placeholder``,
  ``is_env_lookup``, ``is_hash``, ...), detect-secrets style, that take everything they
  need as arguments; settings are passed in (:class:`SecretSettings`), there is no
  global singleton to reset between tests.
* **detect-secrets is optional and lazy.** Importing it costs about 300 ms (it pulls in
  ``requests``), the whole budget of a pre-commit run, and its entropy plugins are noisy
  on real code. Our rules cover its detectors, so it is off by default; with
  ``detect_secrets: auto`` it is imported only when a file has a candidate no rule
  decided (a long quoted high-entropy string), and only its verdicts on those lines are
  used, passed through our filters. ``on`` runs it on every line.
* **Output never holds a secret.** A finding carries the rule, where, a redacted
  preview (:func:`redact`: at most four characters and the length; the header line for
  key blocks) and the sha256 of the value (:func:`secret_hash`) as its key, so a
  baselined secret whose value changes is a new finding, and the result cache stores
  nothing that must not be stored.

Rules run in file order, token formats first: where two rules match the same text the
earlier one decides (a GitHub token in ``token = "..."`` is one finding, a GitHub token;
the documented AWS example key, once allowed, is not re-reported as a generic secret).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import itertools
import json
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from typing import Any, Literal

from convergio_gate import lazyre
from convergio_gate.errors import InputError
from convergio_gate.gates._base import RULE_ID, SEVERITIES, Context, Finding, SourceFile

__all__ = [
    "DETECT_SECRETS_COVERED",
    "FORMAT_FILTERS",
    "GENERIC_FILTERS",
    "Rule",
    "SecretGate",
    "SecretSettings",
    "character_classes",
    "compile_rules",
    "is_code_expression",
    "is_common_fixture",
    "is_data_uri",
    "is_documented_example",
    "is_env_lookup",
    "is_git_commit_id",
    "is_hash",
    "is_lockfile",
    "is_malformed_jwt",
    "is_placeholder",
    "is_reference",
    "is_sequential",
    "is_template_variable",
    "is_test_mode_key",
    "is_url_or_path",
    "is_uuid",
    "load_rules",
    "not_a_secret",
    "redact",
    "secret_hash",
    "shannon_entropy",
]

RULES_NAME = "secrets"
RULES_LABEL = f"rules/{RULES_NAME}.yaml"
#: Bump when the meaning of a rule field or a filter changes: cached findings go stale.
GATE_VERSION = "2"
#: Lines longer than this (minified code, data) are searched in windows around keywords.
LONG_LINE = 4096
WINDOW_BEFORE = 512
WINDOW_AFTER = 2048
#: Word-level placeholder checks only apply to values this short: in a long random
#: value (a key block) an English word is a coincidence, not a placeholder.
WORD_CHECK_MAX = 200

DetectSecretsMode = Literal["off", "auto", "on"]
#: Keys of a gate's config section that the engine handles for every gate.
ENGINE_KEYS = frozenset({"enabled", "severity", "exclude"})


# --------------------------------------------------------------------------------------
# What may be shown of a secret, and how it is identified


def redact(value: str) -> str:
    """A preview of ``value`` that is safe to print, log and store.

    At most four leading characters, and never more than a quarter of the value, then
    ``…`` and the length: ``ghp_…(40 chars)``, ``hu…(8 chars)``, ``…(3 chars)``.
    """
    shown = value[: min(4, len(value) // 4)]
    if not shown.isprintable():
        shown = ""
    return f"{shown}…({len(value)} chars)"


def secret_hash(value: str) -> str:
    """The sha256 hex digest of ``value`` (UTF-8): how findings and baselines name a secret."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0 for an empty string)."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def character_classes(value: str) -> int:
    """How many kinds of character ``value`` mixes, of four: lower-case letters, capitals,
    digits, and anything else (``Maple@2000Q``: 4; ``deadbeef42``: 2)."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not (c.islower() or c.isupper() or c.isdigit()) for c in value)
    )


# --------------------------------------------------------------------------------------
# Not a secret: pure predicates

_PLACEHOLDER_SHAPES = lazyre.compile(r"<[^<>]{1,80}>|\*{3,}|•{3,}|\.\.\.|…|^(.)\1+$")
_PLACEHOLDER_RUNS = lazyre.compile(r"[xX]{4,}|0{6,}")  # ``xxxx``, ``T00000000``
_PLACEHOLDER_WORDS = frozenset(
    """example examples sample samples dummy fake fakes placeholder changeme changeit redacted
    your yours replace replaceme insert mock mocked notreal foobar""".split()  # noqa: SIM905 (a word list reads best as text)
)
_PLACEHOLDER_PHRASES = lazyre.compile(
    r"change[_-]?me|replace[_-]?me|not[ _-]?(?:a|my|the)?[ _-]?real|not[ _-]?(?:a[ _-]?)?secret|"
    r"your[_-]?[a-z_-]*(?:key|token|secret|password|here)|_here\b|-here\b",
    re.IGNORECASE,
)
_WORDS = lazyre.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _words(value: str) -> list[str]:
    """``value`` split into lower-case words at case changes, digits and punctuation."""
    return [w.lower() for w in _WORDS.findall(value)]


def is_placeholder(value: str, extra: Iterable[str] = ()) -> bool:
    """A stand-in for a value: ``<your-key>``, ``xxxx``, ``***``, ``changeme``, ``dummy``,
    or base64 of a sentence that says so (``bm90IG15IHJlYWwgcGFzc3dvcmQ=``)."""
    if _PLACEHOLDER_SHAPES.search(value):
        return True
    if len(value) > WORD_CHECK_MAX:
        return False
    if _PLACEHOLDER_RUNS.search(value) or _PLACEHOLDER_PHRASES.search(value):
        return True
    words = set(_words(value))
    lowered = value.lower()
    if words & _PLACEHOLDER_WORDS or any(w.lower() in lowered for w in extra):
        return True
    prose = _base64_prose(value)
    return prose is not None and (
        is_placeholder(prose, extra) or is_common_fixture(prose.replace(" ", ""))
    )


_BASE64 = lazyre.compile(r"^[A-Za-z0-9+/]{12,}={0,2}$")


def _base64_prose(value: str) -> str | None:
    """The text ``value`` encodes, when it is base64 of words separated by spaces."""
    if len(value) % 4 or not _BASE64.match(value):
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except ValueError:
        return None
    if " " in text and text.isprintable() and re.fullmatch(r"[A-Za-z0-9 ,.:;'!?@_-]+", text):
        return text
    return None


_TEMPLATE = lazyre.compile(
    r"""\$\{[^}]*\}? | \{\{.*?(?:\}\}|$) | \{%.*?%\} | %\([\w.-]+\)[a-z]
    | ^\$[A-Za-z_]\w*$ | ^\$\( | <%.*?%> | \#\{[^}]*\} | \{[A-Za-z_][\w.\[\]'"]*\}
    | \{\d*\} | ^%[sdr]$ | ^@[\w.-]+@$ | ^__[A-Z0-9_]+__$ | \[\[.*?\]\]
    | ^ENC\[ | ^vault: | ^%[\w.:()-]+%$
    """,
    re.VERBOSE,
)


def is_template_variable(value: str) -> bool:
    """A template or interpolation, not a value: ``${VAR}``, ``{{ var }}``, ``%(var)s``,
    ``$VAR``, ``#{var}``, ``<%= var %>``, ``%VAR%``, ``%env(VAR)%``, ``@db.password@``
    (the whole value: ``G^qB@VV@jq`` is a password that happens to hold two ``@``)."""
    return bool(_TEMPLATE.search(value))


_ENV_IN_VALUE = lazyre.compile(
    r"os\.environ|getenv\s*\(|process\.env|\bENV\s*[\[.]|System\.getenv|"
    r"GetEnvironmentVariable|env::var|\$ENV\{|\benv\s*\(|import\.meta\.env",
)
_ENV_BEFORE_VALUE = lazyre.compile(
    r"(?:os\.environ(?:\.get|\.setdefault)?|os\.getenv|getenv|process\.env|\bENV(?:\.fetch)?|"
    r"System\.getenv|os\.Getenv|os\.LookupEnv|env::var|GetEnvironmentVariable|\benv|"
    r"import\.meta\.env)\s*[\[(.]?\s*[@bruf]{0,2}[\"'`]?$"
)


def is_env_lookup(value: str, before: str = "") -> bool:
    """The value is read from the environment (``os.environ["X"]``, ``process.env.X``...),
    or it is the name of the variable being read (``before`` is the text on its line up to
    the value)."""
    return bool(_ENV_IN_VALUE.search(value) or _ENV_BEFORE_VALUE.search(before[-80:]))


#: Public example values from vendors' documentation.
DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        # jwt.io's sample token.
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwia"
        "WF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        # PyJWT's README example (HS256, key "secret").
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0"
        "Z6XOpOVswacPZg",
        # The Azure storage emulator's (Azurite) well-known account key.
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        # OAuth 2.0 (RFC 6749) examples: access, refresh and code values, client credentials.
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "SplxlOBeZQQYbYS6WxSbIA",
        "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "gX1fBat3bV",
        # OAuth 1.0 (RFC 5849) examples: tokens and secrets.
        "ad180jjd733klru7",
        "hh5s93j4hdidpola",
        "nnch734d00sl2jdk",
        "kd94hf93k423kf44",
        "pfkkdhi9sl3r4s00",
        "hdhd0244k9j7ao03",
        "dh893hdasih9",
        "ja893SD9",
        "bhCQXTVyfj5cmA9uKkPFx1zeOXM=",
    }
)


def is_documented_example(value: str) -> bool:
    """A key published in a vendor's documentation as an example (AWS, jwt.io, Azurite)."""
    return value in DOCUMENTED_EXAMPLES


_JWT_SIGNATURE_LENGTHS = {
    "HS256": {43},
    "HS384": {64},
    "HS512": {86},
    "ES256": {86},
    "ES384": {128},
    "ES512": {176},
    "EDDSA": {86, 152},
}


def _b64_json(part: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None


def is_malformed_jwt(value: str) -> bool:
    """Looks like a JWT but cannot be one: the header is not JSON, or the signature's
    length does not fit the algorithm (shortened tokens in READMEs), or it is unsigned."""
    parts = value.split(".")
    if len(parts) != 3 or not value.startswith("eyJ"):
        return False
    header = _b64_json(parts[0])
    if not isinstance(header, dict):
        return True
    alg = str(header.get("alg", "")).upper()
    if alg in ("", "NONE"):
        return True
    signature = parts[2].rstrip("=")
    if alg[:2] in ("RS", "PS"):
        return len(signature) < 171  # a 1024-bit RSA signature is 171 characters
    lengths = _JWT_SIGNATURE_LENGTHS.get(alg)
    return lengths is not None and len(signature) not in lengths


_TEST_MODE_KEY = lazyre.compile(r"^(?:sk|rk|pk)_test_|^pk_live_")


def is_test_mode_key(value: str) -> bool:
    """A Stripe test-mode key (cannot touch live data) or a publishable key (public)."""
    return bool(_TEST_MODE_KEY.match(value))


_DATA_URI_BEFORE = lazyre.compile(r"(?:data:[\w/+.-]*)?;base64,$")
#: Base64 of images (PNG, JPEG, GIF, WebP, SVG, ICO, BMP), WebAssembly, JSON and XML
#: documents, and DER public keys (EC P-256, Ed25519, RSA): data, not credentials.
_DATA_BASE64 = (
    "iVBORw0KGg",
    "/9j/",
    "R0lGOD",
    "UklGR",
    "PHN2Zy",
    "AAABAA",
    "Qk0",
    "AGFzbQ",
    "ewog",
    "PD94bWwg",
    "MFkwEwYHKoZIzj0CAQYI",
    "MCowBQYDK2Vw",
    "MIIBIjANBgkqhkiG9w0BAQEFAAOC",
    "MIICIjANBgkqhkiG9w0BAQEFAAOC",
)


def is_data_uri(value: str, before: str = "") -> bool:
    """Base64 content of a data URI, an image, a WebAssembly module, a JSON or XML
    document or a DER public key: data, not a credential."""
    return (
        value.startswith("data:")
        or bool(_DATA_URI_BEFORE.search(before[-80:]))
        or value.startswith(_DATA_BASE64)
    )


_HEX_DIGEST_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_B64_DIGEST_LENGTHS = frozenset({24, 28, 43, 44, 64, 86, 88})  # md5..sha512, padded or not
_HEX = lazyre.compile(r"^[0-9a-fA-F]+$")
_SRI = lazyre.compile(r"^(?:sha(?:1|224|256|384|512)|md5)-[A-Za-z0-9+/]{20,}={0,2}$")
_ALGO_PREFIX = lazyre.compile(r"^(?:sha(?:1|224|256|384|512)|md5|blake2[bs]?|sha3-\d+)[:=$]", re.I)
_HASH_CONTEXT = lazyre.compile(
    r"(?<![a-z])(?:sha[-_]?\d*|md5|crc\d*|sum|rev|oid|head|blake\w*)(?![a-z])|"
    r"hash|digest|checksum|integrity|etag|fingerprint|commit|revision",
    re.IGNORECASE,
)


def is_hash(value: str, key: str = "", before: str = "", path: str = "") -> bool:
    """A digest, not a secret: an SRI hash (``sha512-...``), ``sha256:...``, or a hex
    digest (md5/sha1/sha256/sha512 lengths) named as one by its key or line, or in a
    lockfile."""
    if _SRI.match(value) or _ALGO_PREFIX.match(value):
        return True
    context = bool(_HASH_CONTEXT.search(key) or _HASH_CONTEXT.search(before[-80:]))
    if len(value) in _B64_DIGEST_LENGTHS and _BASE64.match(value) and context:
        return True
    if len(value) not in _HEX_DIGEST_LENGTHS or not _HEX.match(value):
        return False
    return context or is_lockfile(path)


_UUID = lazyre.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_uuid(value: str) -> bool:
    """A UUID: an identifier, not a credential (Heroku keys have their own rule)."""
    return bool(_UUID.match(value))


_COMMIT_CONTEXT = lazyre.compile(
    r"commit|\brev|\bsha\b|\bref\b|\bhead\b|parent|\btree\b|\btag\b", re.I
)


def is_git_commit_id(value: str, before: str = "") -> bool:
    """A git object id (7 to 40 hex digits) on a line that talks about commits or refs."""
    return (
        7 <= len(value) <= 40 and bool(_HEX.match(value)) and bool(_COMMIT_CONTEXT.search(before))
    )


_LOCKFILES = frozenset(
    """package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml poetry.lock Pipfile.lock
    Cargo.lock composer.lock Gemfile.lock go.sum uv.lock pdm.lock flake.lock mix.lock
    pubspec.lock Podfile.lock packages.lock.json gradle.lockfile bun.lock deno.lock
    requirements.lock conda-lock.yml""".split()  # noqa: SIM905 (a word list reads best as text)
)


def is_lockfile(path: str) -> bool:
    """A dependency lockfile: full of integrity hashes, never of hand-written credentials."""
    name = path.rsplit("/", 1)[-1]
    return name in _LOCKFILES or name.endswith((".lock", ".lockfile"))


_REFERENCE_KEY_SUFFIX = lazyre.compile(
    r"(?:^|[_.-]|(?-i:(?<=[a-z0-9])(?=[A-Z])))"  # after a separator or a camelCase hump
    r"(?:name|names|env|envvar|var|variable|field|fields|header|param|parameter|"
    r"prompt|label|url|uri|urls|path|paths|file|filename|files|dir|type|types|length|len|size|"
    r"hash|hashed|digest|sha\d*|md5|regex|re|pattern|format|fmt|id|ids|count|policy|"
    r"placeholder|help|message|msg|text|title|endpoint|method|scheme|prefix|suffix|attr|"
    r"attribute|column|col|class|cls|mode|enabled|required|timeout|expiry|expires|expiration|"
    r"ttl|provider|kind|version|location|ref|reference|template|store|source|backend|manager|"
    r"checker|validator|strength|rules|changed|reset|error|errors|description|desc|doc|hint|"
    r"input|selector|locator|xpath|css|icon|image|img|button|link|route|page|view|form|"
    r"storage|cache|tag|tags|key_name|keyname|arn|usage|limit|index|idx|"
    r"counter|str|pos|start|end|position|offset|category)$",
    re.IGNORECASE,
)
_REFERENCE_KEY_PREFIX = lazyre.compile(
    r"^(?:is|has|use|show|allow|require|requires|validate|get|check|hide|mask|min|max|num|no|"
    r"should|can|enable|disable|with|without|need|needs|supports|do|expect)"
    r"(?:[_.-]|(?-i:[A-Z]))",  # is_secret, isSecret; not issuer_token or user_password
    re.IGNORECASE,
)
_UPPER_SNAKE = lazyre.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_CAPS_WORD = lazyre.compile(r"^[A-Z]{2,}\d{0,3}$")  # MYTOKEN1
#: crypto_aead_aegis128l_NPUBBYTES: segments of one case each (random base64url with two
#: underscores practically never has three single-case segments).
_SNAKE_IDENT = lazyre.compile(
    r"^(?:[A-Za-z][a-z0-9]*|[A-Z][A-Z0-9]*)(?:_(?:[a-z0-9]+|[A-Z0-9]+)){2,}$"
)
#: TKTokenKeyAlgorithm, RSAPublicKey: capitalised words (an acronym may lead); a random
#: string practically never has every capital followed by two lower-case letters.
_PASCAL_WORDS = lazyre.compile(r"^[A-Z]{0,5}(?:[A-Z][a-z]{2,}){2,}$")
_WORDS_JOINED = lazyre.compile(r"^[a-z]{2,}(?:[_.:/-][a-z0-9]+)+$")  # snake, kebab, dotted words
_CAMEL = lazyre.compile(r"^[a-z]+(?:[A-Z][a-z]+)+$|^(?:[A-Z][a-z]+){2,}$")
_IDENT_SEGMENT = lazyre.compile(
    r"^(?:[a-z]{2,}(?:_[a-z0-9]+)*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*|[a-z]{2,}(?:[A-Z][a-z]{2,})+"
    r"|[A-Z]{0,5}(?:[A-Z][a-z]{2,})+)$"  # ... PascalCase, with a leading acronym (RSAPublicKey)
)


def _normal_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


#: A secret manager's name for a secret: an ARN (``arn:aws:secretsmanager:...``, or any
#: other AWS resource) or a Google Secret Manager resource name.
_SECRET_LOCATOR = lazyre.compile(
    r"^arn:aws[\w-]*:[\w-]+:[\w-]*:\d*:\S+$"
    r"|^projects/[\w.-]+/secrets/[\w.-]+(?:/versions/[\w.-]+)?$"
)
#: An HTTP header's name (``X-Auth-Token``, ``X-CSRFToken``): capitalised words of letters.
_HEADER_NAME = lazyre.compile(r"^[A-Z][A-Za-z]*(?:-[A-Z][A-Za-z]*)+$")


def is_reference(value: str, key: str = "") -> bool:
    """The value names a secret, or something else, instead of being one:
    ``API_KEY_ENV = "API_KEY"``, ``password_field = "password_confirmation"``,
    ``token = "settings.API_TOKEN"``, ``"secret": "pkg.gates.secret:SecretGate"``,
    ``db_password = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"``,
    ``auth_token = "X-Auth-Token"`` (the header it is sent in)."""
    if _SECRET_LOCATOR.match(value) or _HEADER_NAME.match(value):
        return True
    if key:
        bare = key.rsplit(".", 1)[-1].strip("$")
        if _REFERENCE_KEY_SUFFIX.search(bare) or _REFERENCE_KEY_PREFIX.match(bare):
            return True
        if _normal_name(value) and _normal_name(value) in _normal_name(key):
            return True
    value = value.lstrip("_")
    if (
        _UPPER_SNAKE.match(value)
        or _WORDS_JOINED.match(value)
        or _CAPS_WORD.match(value)
        or _SNAKE_IDENT.match(value)
    ):
        return True
    if _CAMEL.match(value) and sum(len(w) < 3 for w in _words(value)) <= 1:
        return True
    segments = re.split(r"::|[.:]", value)  # settings.API_KEY, pkg.mod:Class, Mod::Const
    if len(segments) == 1:
        return _identifier_of_words(value) or _PASCAL_WORDS.match(value) is not None
    return all(_IDENT_SEGMENT.match(s) or _identifier_of_words(s) for s in segments)


_IDENTIFIER = lazyre.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD_RUN = lazyre.compile(r"[A-Z]?[a-z]{3,}")


def _identifier_of_words(value: str) -> bool:
    """An identifier spelled in words (``TKTokenAuthOperation``, ``sfntCMapEncoding``):
    at most two digits, two or more words of three letters or more holding 75% of its
    letters, and a quarter of those letters vowels. Random base62 strings of 16 to 40
    characters pass this less than once in a thousand."""
    if not _IDENTIFIER.match(value) or sum(c.isdigit() for c in value) > 2:
        return False
    letters = sum(c.isalpha() for c in value)
    words = _WORD_RUN.findall(value)
    spelled = "".join(words).lower()
    return (
        letters >= 6
        and len(words) >= 2
        and len(spelled) >= 0.75 * letters
        and sum(c in "aeiouy" for c in spelled) >= 0.25 * len(spelled)
    )


_FIXTURE_WORDS = frozenset(
    """password passwd pwd pass secret secrets test tests testing tester example sample demo
    dummy fake mock admin administrator root toor user users username guest default changeme
    changeit letmein qwerty foo bar baz qux quux abc xyz my your super very strong weak
    local dev development token key api app value string hunter welcome hello world login
    auth sekret geheim passwort kennwort parole contrasena senha segreto motdepasse salasana
    haslo""".split()  # noqa: SIM905 (a word list reads best as text)
)
_FIXTURE_VALUES = frozenset(
    {"p@ssw0rd", "p@ssword", "passw0rd", "pa55word", "pa$$word", "s3cr3t", "s3cret", "hunter2"}
)


def is_common_fixture(value: str) -> bool:
    """A value made only of test-fixture words and digits: ``password``, ``TestPassword123``,
    ``SuperSecret1`` — a value for tests, not a credential."""
    if value.lower() in _FIXTURE_VALUES:
        return True
    words = _words(value)
    letters = [w for w in words if not w.isdigit()]
    return bool(letters) and all(w in _FIXTURE_WORDS for w in letters)


_SEQUENCES = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "01234567890123456789",
    "0123456789ABCDEF0123456789ABCDEF",
    "QWERTYUIOPASDFGHJKLZXCVBNM",
)


def is_sequential(value: str) -> bool:
    """A run of the alphabet, digits or the keyboard (``abcdef123456``), or a character
    set written out (``0123456789abcdefABCDEF``): eight characters in a row in ASCII
    order never happen by chance."""
    upper = value.upper()
    if any(upper in seq for seq in _SEQUENCES):
        return True
    run = 1
    for a, b in itertools.pairwise(value):
        run = run + 1 if ord(b) == ord(a) + 1 else 1
        if run >= 8:
            return True
    return False


_URL_NO_CREDENTIALS = lazyre.compile(r"^[a-z][a-z0-9+.-]*://[^\s:@/]*(?:[/?#]|$)", re.IGNORECASE)
_FILE_PATH = lazyre.compile(
    r"^(?:~|\.{1,2}|[A-Za-z]:)?[/\\](?:[\w.@-]+[/\\])+[\w.@-]*$"
    r"|^[\w.-]+(?:/[\w.-]+)*\.(?:json|ya?ml|pem|key|crt|cer|txt|env|cfg|ini|toml|p12|pfx|jks|"
    r"gpg|asc|der|pub|ppk|kdbx)$"
)


def is_url_or_path(value: str) -> bool:
    """A URL without credentials or a file path: where a secret is, not the secret."""
    return bool(_URL_NO_CREDENTIALS.match(value) or _FILE_PATH.match(value))


_CODE_EXPRESSION = lazyre.compile(
    r"""^(?:null|none|nil|true|false|undefined|~|\[\]|\{\}|""|'')$
    | ^[\w.$]+\(.*\)?;?$               # get_password(), config.get("x")
    | ^[\w.$]+\[.*\]?;?$               # secrets["x"]
    | ^(?:self|this|cls|os|env|config|conf|cfg|settings|process|params|args|kwargs|
        request|req|ctx|context|options|opts|props|vars|secrets|credentials|creds)\.
    | ^[$@(\[{]
    """,
    re.VERBOSE | re.IGNORECASE,
)
#: How an unquoted YAML value that is not a literal starts: an alias, an anchor or a tag
#: (``*creds``, ``&creds``, ``!vault``, ``!Ref``).
_YAML_SIGIL = lazyre.compile(r"^[&*!]")
_YAML_PATH = lazyre.compile(r"(?i)\.ya?ml(?:\.\w+)?$")
_QUOTES = frozenset("\"'`")


def is_code_expression(value: str, before: str = "", path: str = "") -> bool:
    """An expression or a YAML alias/tag rather than a literal (``get_password()``,
    ``self.token``, ``*default_creds``, ``!vault``, ``(?:key|token)``, ``null``).
    ``before`` is the text of the line up to the value and ``path`` the file's: ``*``,
    ``&`` and ``!`` start an alias, an anchor or a tag only unquoted in YAML (or where the
    file is not known); in quotes, or in a .properties, .ini, .netrc or shell file, they
    start a literal (``'*mWk24l4qiX!y'``, ``password = !Px%tFCn``)."""
    if _CODE_EXPRESSION.search(value):
        return True
    if before[-1:] in _QUOTES or (path and not _YAML_PATH.search(path)):
        return False
    return _YAML_SIGIL.match(value) is not None


#: A word as a list of names holds one: letters, maybe joined by ``_``, ``.`` or ``-``.
_PLAIN_WORD = lazyre.compile(r"[A-Za-z]+(?:[_.-][A-Za-z]+)*")
#: A quoted string's end, then a comma: the list element before a quoted name.
_ELEMENT_BEFORE = lazyre.compile(r"""["'`]\s*,\s*$""")
#: Between a quoted name and its value: the name's closing quote, a comma, the value's
#: opening quote.
_NEXT_ELEMENT = lazyre.compile(r"""["'`]\s*,\s*["'`]""")
#: How far before a quoted name the list element before it is looked for.
_ELEMENT_REACH = 80


@dataclass(frozen=True)
class Candidate:
    """What the filters know about a match: the value, its name, its place."""

    value: str
    key: str = ""
    before: str = ""  # the text of its line up to the value
    path: str = ""
    listed: bool = False  # a quoted name and the value after it, both in a list of strings


Filter = Callable[[Candidate, "SecretSettings"], bool]

#: Filters for every rule, token formats included.
FORMAT_FILTERS: tuple[tuple[str, Filter], ...] = (
    ("documented-example", lambda c, s: is_documented_example(c.value)),
    ("malformed-jwt", lambda c, s: is_malformed_jwt(c.value)),
    ("test-mode-key", lambda c, s: is_test_mode_key(c.value)),
    ("placeholder", lambda c, s: is_placeholder(c.value, s.placeholders)),
    ("template", lambda c, s: is_template_variable(c.value)),
    ("env-lookup", lambda c, s: is_env_lookup(c.value, c.before)),
    ("data-uri", lambda c, s: is_data_uri(c.value, c.before)),
)
#: Filters added for generic rules (a name and a value rather than a token format).
GENERIC_FILTERS: tuple[tuple[str, Filter], ...] = (
    ("hash", lambda c, s: is_hash(c.value, c.key, c.before, c.path)),
    ("uuid", lambda c, s: is_uuid(c.value)),
    ("git-commit-id", lambda c, s: is_git_commit_id(c.value, c.before)),
    ("reference", lambda c, s: is_reference(c.value, c.key)),
    ("fixture", lambda c, s: is_common_fixture(c.value)),
    ("sequential", lambda c, s: is_sequential(c.value)),
    ("url-or-path", lambda c, s: is_url_or_path(c.value)),
    ("code-expression", lambda c, s: is_code_expression(c.value, c.before, c.path)),
    ("word-list", lambda c, s: c.listed and _PLAIN_WORD.fullmatch(c.value) is not None),
)


def in_word_list(text: str, key: tuple[int, int], value: tuple[int, int]) -> bool:
    """Whether the name at ``key`` and the value at ``value`` (spans of ``text``) are two
    strings of a list that has another string before or after them: in a lexer's list
    of Apache directives, ``"authformlogout", "authformpassword", "authformprovider"``
    pairs no name with its value. A pair in a call or a tuple (``("password", "x")``) has
    nothing around it; a command line's flag (``"--password", "x"``) is a name, not a
    list of words."""
    start, end = key
    if start < 1 or text[start - 1] not in "\"'`" or text.startswith("-", start):
        return False
    if _NEXT_ELEMENT.fullmatch(text, end, value[0]) is None:
        return False
    if _ELEMENT_BEFORE.search(text, max(0, start - 1 - _ELEMENT_REACH), start - 1) is not None:
        return True
    return _NEXT_ELEMENT.match(text, value[1]) is not None


def not_a_secret(candidate: Candidate, generic: bool, settings: SecretSettings) -> str | None:
    """The name of the first filter that says ``candidate`` is not a secret, else None."""
    filters = FORMAT_FILTERS + GENERIC_FILTERS if generic else FORMAT_FILTERS
    for name, judge in filters:
        if judge(candidate, settings):
            return name
    return None


# --------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class SecretSettings:
    """The ``secret`` section of the configuration.

    ``max_bytes``: files larger than this are only searched for token formats (no
    generic name/value rules, no detect-secrets). ``detect_secrets``: ``off`` (default),
    ``auto`` (only lines no rule decided that hold a long high-entropy string, and only
    if the package is installed) or ``on`` (every line; the package must be installed).
    ``placeholders``: extra words that mark a value as a stand-in.
    """

    max_bytes: int = 2_000_000
    detect_secrets: DetectSecretsMode = "off"
    placeholders: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SecretSettings:
        """Settings from the gate's config section (``enabled``, ``severity`` and
        ``exclude`` belong to the engine and are ignored here)."""
        known = ("max_bytes", "detect_secrets", "placeholders")
        where = ".convergio/config.yaml"
        for key in data:
            if key not in known and key not in ENGINE_KEYS:
                near = get_close_matches(str(key), known, n=1)
                hint = f" (did you mean `{near[0]}`?)" if near else ""
                raise InputError(
                    f"unknown setting `{key}` for the secret gate{hint}",
                    path=where,
                    key=f"gates.secret.{key}",
                    fix="use one of: " + ", ".join(known),
                )
        max_bytes = data.get("max_bytes", cls.max_bytes)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise InputError(
                f"expected a positive number of bytes, got {max_bytes!r}",
                path=where,
                key="gates.secret.max_bytes",
            )
        mode = data.get("detect_secrets", cls.detect_secrets)
        if mode not in ("off", "auto", "on"):
            raise InputError(
                f"expected off, auto or on, got {mode!r}",
                path=where,
                key="gates.secret.detect_secrets",
            )
        words = data.get("placeholders", ())
        if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) and w for w in words):
            raise InputError(
                "expected a list of words", path=where, key="gates.secret.placeholders"
            )
        return cls(max_bytes=max_bytes, detect_secrets=mode, placeholders=tuple(words))


# --------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Short:
    """When a rule also reports secrets shorter than its ``min_length``: at least
    ``min_length`` long, ``entropy`` bits a character, ``classes`` kinds of character
    (:func:`character_classes`), and, if given, ``before`` matching the text of the line
    up to the value (an assignment, not a value passed next to the name)."""

    min_length: int
    entropy: float = 0.0
    classes: int = 0
    before: re.Pattern[str] | None = None


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cheap cache keys
class Rule:
    """One compiled rule of ``rules/secrets.yaml`` (see the comment at its top)."""

    id: str
    title: str
    fix: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    entropy: float = 0.0
    hex_entropy: float | None = None
    min_length: int = 1
    short: Short | None = None
    generic: bool = False
    multiline: bool = False
    paths: re.Pattern[str] | None = None
    preview: Literal["redact", "header"] = "redact"
    allow_regexes: tuple[re.Pattern[str], ...] = ()
    stopwords: tuple[str, ...] = ()
    severity: str = "error"

    def secret_span(self, match: re.Match[str]) -> tuple[int, int]:
        """Where the secret is in a match: group ``secret``, else the first group that
        took part, else the whole match."""
        if "secret" in self.regex.groupindex:
            return match.span("secret")
        for index in range(1, (self.regex.groups or 0) + 1):
            if match.start(index) >= 0:
                return match.span(index)
        return match.span()

    def key_of(self, match: re.Match[str]) -> str:
        if "key" in self.regex.groupindex:
            return match.group("key") or ""
        return ""

    def allowed(self, value: str) -> bool:
        lowered = value.lower()
        return any(word in lowered for word in self.stopwords) or any(
            rx.search(value) for rx in self.allow_regexes
        )


_RULE_KEYS = (
    "id",
    "title",
    "description",
    "why",
    "fix",
    "regex",
    "keywords",
    "entropy",
    "hex_entropy",
    "min_length",
    "short",
    "generic",
    "multiline",
    "paths",
    "preview",
    "allowlist",
    "severity",
    "note",
    "refuse",
    "allow",
)


def _fail(rule_id: str, index: int, field: str, message: str) -> InputError:
    return InputError(
        f"{rule_id}: {message}",
        path=RULES_LABEL,
        key=f"rules[{index}].{field}" if field else f"rules[{index}]",
        fix=f"correct rule {rule_id} in {RULES_LABEL}",
    )


def _regex(
    rule_id: str, index: int, field: str, pattern: object, lazy: bool = False
) -> re.Pattern[str]:
    """``pattern`` compiled; ``lazy``: on first use (a pattern that does not compile is
    then reported when first used, with the same error)."""
    if not isinstance(pattern, str) or not pattern:
        raise _fail(rule_id, index, field, "expected a regular expression (a string)")

    def wrong(exc: re.error) -> InputError:
        return _fail(rule_id, index, field, f"regex does not compile: {exc}")

    if lazy:
        return lazyre.compile(pattern, error=wrong)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise wrong(exc) from None


def _compile_rule(index: int, raw: Mapping[str, Any], lazy: bool = False) -> Rule:
    rule_id = str(raw.get("id", f"#{index}"))
    if not RULE_ID.match(rule_id):
        raise _fail(rule_id, index, "id", "expected lower-case letters, digits and '-'")
    for key in raw:
        if key not in _RULE_KEYS:
            near = get_close_matches(str(key), _RULE_KEYS, n=1)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            raise _fail(rule_id, index, str(key), f"unknown key `{key}`{hint}")
    for key in ("title", "description", "why", "fix"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(rule_id, index, key, f"missing `{key}`")
    regex = _regex(rule_id, index, "regex", raw.get("regex"), lazy)
    keywords = raw.get("keywords")
    if (
        not isinstance(keywords, list)
        or not keywords
        or not all(isinstance(k, str) and k and k == k.lower() for k in keywords)
    ):
        raise _fail(rule_id, index, "keywords", "expected a non-empty list of lower-case strings")
    entropy = raw.get("entropy", 0.0)
    if isinstance(entropy, bool) or not isinstance(entropy, (int, float)) or not 0 <= entropy <= 8:
        raise _fail(rule_id, index, "entropy", "expected a number from 0 to 8")
    hex_entropy = raw.get("hex_entropy")
    if hex_entropy is not None and (
        isinstance(hex_entropy, bool)
        or not isinstance(hex_entropy, (int, float))
        or not 0 <= hex_entropy <= 4
    ):
        raise _fail(rule_id, index, "hex_entropy", "expected a number from 0 to 4")
    min_length = raw.get("min_length", 1)
    if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
        raise _fail(rule_id, index, "min_length", "expected a positive integer")
    for flag in ("generic", "multiline"):
        if not isinstance(raw.get(flag, False), bool):
            raise _fail(rule_id, index, flag, "expected true or false")
    preview = raw.get("preview", "redact")
    if preview not in ("redact", "header"):
        raise _fail(rule_id, index, "preview", "expected `redact` or `header`")
    severity = raw.get("severity", "error")
    if severity not in SEVERITIES:
        raise _fail(rule_id, index, "severity", "expected one of " + ", ".join(SEVERITIES))
    allowlist = raw.get("allowlist", {})
    if not isinstance(allowlist, dict) or set(allowlist) - {"regexes", "stopwords"}:
        raise _fail(rule_id, index, "allowlist", "expected a mapping of `regexes`/`stopwords`")
    allow_regexes = tuple(
        _regex(rule_id, index, f"allowlist.regexes[{n}]", p, lazy)
        for n, p in enumerate(allowlist.get("regexes", []))
    )
    stopwords = allowlist.get("stopwords", [])
    if not all(isinstance(w, str) and w for w in stopwords):
        raise _fail(rule_id, index, "allowlist.stopwords", "expected a list of strings")
    for kind in ("refuse", "allow"):
        samples = raw.get(kind)
        if not isinstance(samples, list) or not samples:
            raise _fail(rule_id, index, kind, f"every rule needs `{kind}:` samples")
        for n, sample in enumerate(samples):
            if not (
                isinstance(sample, dict)
                and isinstance(sample.get("path"), str)
                and isinstance(sample.get("code"), str)
            ):
                raise _fail(rule_id, index, f"{kind}[{n}]", "expected {path: FILE, code: TEXT}")
    paths = raw.get("paths")
    return Rule(
        id=rule_id,
        title=raw["title"].strip(),
        fix=" ".join(raw["fix"].split()),
        regex=regex,
        keywords=tuple(keywords),
        entropy=float(entropy),
        hex_entropy=None if hex_entropy is None else float(hex_entropy),
        min_length=min_length,
        short=_short(rule_id, index, raw.get("short"), lazy),
        generic=raw.get("generic", False),
        multiline=raw.get("multiline", False),
        paths=None if paths is None else _regex(rule_id, index, "paths", paths, lazy),
        preview=preview,
        allow_regexes=allow_regexes,
        stopwords=tuple(w.lower() for w in stopwords),
        severity=severity,
    )


def _short(rule_id: str, index: int, raw: object, lazy: bool = False) -> Short | None:
    """The ``short:`` mapping of a rule, validated."""
    if raw is None:
        return None
    known = {"min_length", "entropy", "classes", "before"}
    if not isinstance(raw, dict) or not set(raw) <= known or "min_length" not in raw:
        raise _fail(rule_id, index, "short", "expected {min_length, entropy, classes, before}")
    length, entropy, classes = raw["min_length"], raw.get("entropy", 0.0), raw.get("classes", 0)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise _fail(rule_id, index, "short.min_length", "expected a positive integer")
    if isinstance(entropy, bool) or not isinstance(entropy, (int, float)) or not 0 <= entropy <= 8:
        raise _fail(rule_id, index, "short.entropy", "expected a number from 0 to 8")
    if isinstance(classes, bool) or not isinstance(classes, int) or not 0 <= classes <= 4:
        raise _fail(rule_id, index, "short.classes", "expected a number of kinds, 0 to 4")
    before = raw.get("before")
    return Short(
        min_length=length,
        entropy=float(entropy),
        classes=classes,
        before=None if before is None else _regex(rule_id, index, "short.before", before, lazy),
    )


def compile_rules(data: Mapping[str, Any], *, lazy: bool = False) -> tuple[Rule, ...]:
    """Validate and compile rule data; every error names the rule (gitleaks style).

    ``lazy``: each regex is compiled when first used (a file's keywords pick the few
    rules a commit needs), and one that does not compile is reported then."""
    if data.get("version") != 1 or not isinstance(data.get("rules"), list):
        raise InputError("expected `version: 1` and a `rules:` list", path=RULES_LABEL)
    compiled: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict):
            raise InputError("every rule is a mapping", path=RULES_LABEL, key=f"rules[{index}]")
        rule = _compile_rule(index, raw, lazy)
        if rule.id in seen:
            raise _fail(rule.id, index, "id", "the id is used twice")
        seen.add(rule.id)
        compiled.append(rule)
    return tuple(compiled)


def _rule_data() -> dict[str, Any]:
    """The parsed rule file (through the JSON copy rules.load keeps)."""
    from convergio_gate.gates import rules

    return rules.load(RULES_NAME)


@cache
def load_rules() -> tuple[Rule, ...]:
    """The shipped rules (the tests compile each of them), compiled on first use."""
    return compile_rules(_rule_data(), lazy=True)


@cache
def keyword_index(rules: tuple[Rule, ...]) -> KeywordIndex:
    """The keyword index of a rule set (once per rule set)."""
    index = KeywordIndex(k for rule in rules for k in rule.keywords)
    for at, rule in enumerate(rules):
        for keyword in rule.keywords:
            index.rules.setdefault(keyword, []).append(at)
    index.rule_count = len(rules)
    return index


# --------------------------------------------------------------------------------------
# Scanning


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    start: int
    end: int
    value: str
    key: str


class _Spans:
    """Non-overlapping [start, end) spans already decided, with an overlap test."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, start)
        if i < len(self.starts) and self.starts[i] < end:
            return True
        return i > 0 and self.ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def _ascii_lower(text: str) -> str:
    """Lower-case ``text`` without changing its length (offsets stay valid)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored by common prefixes."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(c) + emit(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


class KeywordIndex:
    """Finds every occurrence of every rule keyword in a file in a few passes.

    One ``str.find`` per keyword costs a pass over the file per keyword (about 80 of
    them); instead the keywords are grouped by first character and each group becomes
    one prefix-factored regex, so a file costs about 20 passes, each skipping quickly to
    the next occurrence of its first character. Each search resumes one character after
    the last match, so overlapping keywords are all found; a match is the longest keyword
    starting there, and the shorter keywords it begins with are recorded with it.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        unique = sorted(set(keywords))
        groups: dict[str, list[str]] = {}
        for keyword in unique:
            groups.setdefault(keyword[0], []).append(keyword)
        self.patterns = [re.compile(_trie_pattern(group)) for group in groups.values()]
        self.prefixes = {k: [o for o in unique if o != k and k.startswith(o)] for k in unique}
        #: Keyword -> positions of the rules that have it, in the rule set the index was
        #: made for (:func:`keyword_index`).
        self.rules: dict[str, list[int]] = {}
        self.rule_count = 0

    def find(self, lower: str) -> dict[str, list[int]]:
        """Keyword -> offsets of its occurrences in ``lower`` (lower-cased text)."""
        found: dict[str, list[int]] = {}
        for pattern in self.patterns:
            match = pattern.search(lower)
            while match is not None:
                word, at = match.group(), match.start()
                for keyword in (word, *self.prefixes[word]):
                    found.setdefault(keyword, []).append(at)
                match = pattern.search(lower, at + 1)
        return found


def _windows(text: str, offsets: Iterable[int]) -> list[tuple[int, int]]:
    """The lines (or, in very long lines, windows) around ``offsets``, merged, in order."""
    size = len(text)
    spans: list[tuple[int, int]] = []
    for at in sorted(offsets):
        if spans and at < spans[-1][1]:
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if end < 0:
            end = size
        if end - start > LONG_LINE:
            start = max(start, at - WINDOW_BEFORE)
            end = min(end, at + WINDOW_AFTER)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def _header(value: str) -> str:
    found = re.search(r"-----BEGIN[ A-Z0-9_-]{0,100}-----|PuTTY-User-Key-File-\d: *[\w-]*", value)
    return found.group() if found else "key block"


class _Scan:
    """One file's scan: the rules in order, the decided spans, the hits."""

    def __init__(self, path: str, text: str, settings: SecretSettings, index: KeywordIndex) -> None:
        self.path = path
        self.text = text
        self.settings = settings
        self.decided = _Spans()
        self.hits: list[_Hit] = []
        self.keywords = index.find(_ascii_lower(text))
        self.index = index

    def run(self, rules: Sequence[Rule], *, formats_only: bool) -> None:
        """Each rule with a keyword in the text, in order (``rules``: the rule set the
        index was made for)."""
        by_keyword = self.index.rules
        if self.index.rule_count != len(rules):
            raise ValueError("a keyword index used with rules it was not made for")
        wanted = sorted({i for k in self.keywords for i in by_keyword.get(k, ())})
        lockfile: bool | None = None
        for position in wanted:
            rule = rules[position]
            if rule.generic:
                if lockfile is None:
                    lockfile = formats_only or is_lockfile(self.path)
                if lockfile:
                    continue
            if rule.paths is not None and not rule.paths.search(self.path):
                continue
            offsets = [at for k in rule.keywords for at in self.keywords.get(k, ())]
            if not offsets:
                continue
            if rule.multiline:
                self._search(rule, 0, len(self.text))
                continue
            for start, end in _windows(self.text, offsets):
                self._search(rule, start, end)

    def _search(self, rule: Rule, start: int, end: int) -> None:
        for match in rule.regex.finditer(self.text, start, end):
            s, e = rule.secret_span(match)
            if e <= s or self.decided.overlaps(s, e):
                continue
            self.decided.add(s, e)
            value = self.text[s:e]
            listed = (
                rule.generic
                and "key" in rule.regex.groupindex
                and match.start("key") >= 0
                and in_word_list(self.text, match.span("key"), (s, e))
            )
            if self.judge(rule, value, rule.key_of(match), s, listed):
                self.hits.append(_Hit(rule, s, e, value, rule.key_of(match)))

    def before(self, offset: int) -> str:
        return self.text[self.text.rfind("\n", 0, offset) + 1 : offset]

    def judge(self, rule: Rule, value: str, key: str, offset: int, listed: bool = False) -> bool:
        """True when ``value`` is a secret by ``rule`` and no filter says otherwise
        (``listed``: see :func:`in_word_list`)."""
        if rule.allowed(value):
            return False
        before = self.before(offset)
        if len(value) < rule.min_length:
            if rule.short is None or not _short_secret(rule.short, value, before):
                return False
        else:
            entropy = rule.entropy
            if rule.hex_entropy is not None and _HEX.match(value):
                entropy = rule.hex_entropy  # 16 symbols: hex tops out at 4 bits a character
            if entropy and shannon_entropy(value) < entropy:
                return False
        candidate = Candidate(value, key, before, self.path, listed)
        return not_a_secret(candidate, rule.generic, self.settings) is None


def _short_secret(short: Short, value: str, before: str) -> bool:
    return (
        len(value) >= short.min_length
        and shannon_entropy(value) >= short.entropy
        and character_classes(value) >= short.classes
        and (short.before is None or short.before.search(before) is not None)
    )


_DS_QUOTED = lazyre.compile(r"""(["'])([A-Za-z0-9+/=_-]{20,})\1""")
_DS_HEX = frozenset("0123456789abcdefABCDEF")


def _undecided_lines(scan: _Scan) -> list[tuple[int, int]]:
    """Lines with a long high-entropy quoted string that no rule decided: the only
    places ``detect_secrets: auto`` sends to detect-secrets."""
    lines: dict[int, int] = {}
    for match in _DS_QUOTED.finditer(scan.text):
        s, e = match.span(2)
        if scan.decided.overlaps(s, e):
            continue
        value = match.group(2)
        limit = 3.0 if set(value) <= _DS_HEX else 4.5
        if shannon_entropy(value) <= limit:
            continue
        start = scan.text.rfind("\n", 0, s) + 1
        end = scan.text.find("\n", e)
        lines[start] = len(scan.text) if end < 0 else end
    return sorted(lines.items())


#: detect-secrets plugins our rules already cover (with allowlists and tighter formats),
#: or that do not find credentials (public IP addresses): not run.
DETECT_SECRETS_COVERED = frozenset(
    """AWSKeyDetector AzureStorageKeyDetector BasicAuthDetector DiscordBotTokenDetector
    GitHubTokenDetector GitLabTokenDetector IPPublicDetector JwtTokenDetector
    MailchimpDetector NpmDetector OpenAIDetector PrivateKeyDetector PypiTokenDetector
    SendGridDetector SlackDetector SquareOAuthDetector StripeDetector
    TelegramBotTokenDetector TwilioKeyDetector""".split()  # noqa: SIM905 (a word list reads best as text)
)


@cache
def _detect_secrets_plugins() -> list[Any]:
    """The detect-secrets plugins that add coverage to our rules (its entropy and keyword
    detectors, IBM, Cloudant, SoftLayer, Artifactory), imported here and only here: the
    import costs about 300 ms. (Through importlib: it is an optional dependency.)"""
    util: Any = importlib.import_module("detect_secrets.core.plugins.util")
    classes: Iterable[Any] = util.get_mapping_from_secret_type_to_class().values()
    return [cls() for cls in classes if cls.__name__ not in DETECT_SECRETS_COVERED]


_DS_RULE_ID = lazyre.compile(r"[^a-z0-9]+")


def _ds_rule(plugin: Any) -> Rule:
    name = _DS_RULE_ID.sub("-", str(plugin.secret_type).lower()).strip("-")
    return Rule(
        id=f"detect-secrets-{name}"[:64],
        title=f"{plugin.secret_type} (detect-secrets)",
        fix=(
            "Revoke or rotate the credential, remove it from the code and load it from the "
            "environment or a secret store; if it was ever pushed, rewrite history."
        ),
        regex=re.compile(""),
        keywords=(),
        generic=True,
    )


def _ds_values(plugin: Any, path: str, line: str) -> Iterable[str]:
    """What one detect-secrets plugin reports on one line, without its settings
    singleton and without any network verification."""
    if hasattr(plugin, "entropy_limit"):
        for value in plugin.analyze_string(line):
            if plugin.calculate_shannon_entropy(value) > plugin.entropy_limit:
                yield value
        return
    if type(plugin).__name__ == "KeywordDetector":
        keyword: Any = importlib.import_module("detect_secrets.plugins.keyword")
        filetype: Any = importlib.import_module("detect_secrets.util.filetype")
        table = keyword.REGEX_BY_FILETYPE.get(
            filetype.determine_file_type(path), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
        )
        yield from plugin.analyze_string(line, denylist_regex_to_group=table)
        return
    yield from plugin.analyze_string(line)


def _entropy_noise(value: str) -> bool:
    """A string with no name that says "secret", whose only merit is entropy, and which
    is not random: a hex digest (md5 to sha512 length), hex of text, a string without a
    single digit (identifiers, alphabets: 40 random base64 characters have no digit once
    in 4000), or one made mostly of words (``NFCISO15693ReadMultipleBlocks``)."""
    if _HEX.match(value):
        if len(value) in _HEX_DIGEST_LENGTHS:
            return True
        try:
            decoded = bytes.fromhex(value).decode("utf-8")
        except ValueError:
            decoded = ""
        if decoded.isprintable() and " " in decoded:
            return True
    if not any(c.isdigit() for c in value):
        return True
    letters = sum(c.isalpha() for c in value)
    in_words = sum(len(w) for w in _WORD_RUN.findall(value))
    return letters > 0 and in_words >= 0.6 * letters


def _run_detect_secrets(scan: _Scan, spans: Sequence[tuple[int, int]], mode: str) -> None:
    try:
        plugins = _detect_secrets_plugins()
    except ImportError:
        if mode == "on":
            raise InputError(
                "the secret gate is set to `detect_secrets: on` but detect-secrets is not "
                "installed",
                path=".convergio/config.yaml",
                key="gates.secret.detect_secrets",
                fix="pip install detect-secrets, or set detect_secrets: auto",
            ) from None
        return
    for start, end in spans:
        line = scan.text[start:end]
        for plugin in plugins:
            for value in _ds_values(plugin, scan.path, line):
                if not isinstance(value, str) or not value:
                    continue
                at = line.find(value)
                if at < 0:
                    continue
                s, e = start + at, start + at + len(value)
                if scan.decided.overlaps(s, e):
                    continue
                rule = _ds_rule(plugin)
                scan.decided.add(s, e)
                if hasattr(plugin, "entropy_limit") and _entropy_noise(value):
                    continue
                if scan.judge(rule, value, "", s):
                    scan.hits.append(_Hit(rule, s, e, value, ""))


def scan_text(
    path: str,
    text: str,
    settings: SecretSettings | None = None,
    rules: Sequence[Rule] | None = None,
    *,
    formats_only: bool = False,
) -> list[Finding]:
    """The findings of the secret rules on one file's text."""
    settings = settings or SecretSettings()
    rules = load_rules() if rules is None else tuple(rules)
    scan = _Scan(path, text, settings, keyword_index(rules))
    scan.run(rules, formats_only=formats_only)
    if settings.detect_secrets != "off" and not formats_only:
        if settings.detect_secrets == "on":
            spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
        else:
            spans = _undecided_lines(scan)
        if spans:
            _run_detect_secrets(scan, spans, settings.detect_secrets)
    return _findings(path, text, scan.hits)


def scrub(text: str, path: str = "output.log") -> tuple[str, int]:
    """``text`` with every secret the rules find replaced by its redacted preview, and how
    many were replaced: for output the tool keeps (an evidence record's tail)."""
    scan = _Scan(path, text, SecretSettings(), keyword_index(load_rules()))
    scan.run(load_rules(), formats_only=False)
    out = text
    for hit in sorted(scan.hits, key=lambda h: h.start, reverse=True):
        out = out[: hit.start] + f"[secret {redact(hit.value)}]" + out[hit.end :]
    return out, len(scan.hits)


def _findings(path: str, text: str, hits: Sequence[_Hit]) -> list[Finding]:
    if not hits:
        return []
    newlines = [m.start() for m in re.finditer("\n", text)]
    hashes = [secret_hash(hit.value) for hit in hits]
    seen = Counter(hashes)
    findings: list[Finding] = []
    for hit, digest in sorted(zip(hits, hashes, strict=True), key=lambda h: h[0].start):
        line = bisect_right(newlines, hit.start - 1) + 1
        end_line = bisect_right(newlines, hit.end - 1) + 1
        column = hit.start - (newlines[line - 2] + 1 if line > 1 else 0) + 1
        preview = _header(hit.value) if hit.rule.preview == "header" else redact(hit.value)
        message = hit.rule.title
        if hit.key:
            message += f" assigned to {hit.key[-60:]}"
        if seen[digest] > 1:
            message += f" (the same value appears {seen[digest]} times in this file)"
        findings.append(
            Finding(
                gate="secret",
                rule=hit.rule.id,
                path=path,
                line=line,
                column=column,
                message=message,
                fix=hit.rule.fix,
                key=digest,
                severity=hit.rule.severity,
                preview=preview,
                secret_sha256=digest,
                end_line=end_line if end_line != line else None,
                fingerprint="",
            )
        )
    return findings


class SecretGate:
    """Refuses credentials in files: token formats, key blocks, and secret-looking
    values assigned to secret-sounding names."""

    id = "secret"
    description = "credentials written into files (tokens, private keys, passwords)"
    scope: Literal["file", "repo"] = "file"
    version = GATE_VERSION

    def __init__(self, rules: Sequence[Rule] | None = None) -> None:
        self._rules = tuple(rules) if rules is not None else None

    @property
    def rules(self) -> tuple[Rule, ...]:
        if self._rules is None:
            self._rules = load_rules()
        return self._rules

    def check(self, files: Sequence[SourceFile], ctx: Context) -> list[Finding]:
        settings = SecretSettings.from_mapping(ctx.settings)
        findings: list[Finding] = []
        for file in files:
            if file.is_binary:
                continue
            findings.extend(
                scan_text(
                    file.path,
                    file.text,
                    settings,
                    self.rules,
                    formats_only=len(file.data) > settings.max_bytes,
                )
            )
        return findings
