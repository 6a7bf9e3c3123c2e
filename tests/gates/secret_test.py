"""The secret gate: every rule sample judged, the filters, the redaction, and the promise
that no output ever holds a secret.

Secrets planted here are generated at run time from a seeded random generator in the
right formats, so this file holds no credential-shaped literal of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergio_gate.errors import InputError
from convergio_gate.gates import registry, rules
from convergio_gate.gates import secret as S
from convergio_gate.gates._base import Context, Finding, Gate, SourceFile, blob_oid

RNG = random.Random(1729)
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"


@pytest.fixture(autouse=True)
def _seeded(request: pytest.FixtureRequest) -> None:
    """Every test draws the same values whatever the order tests run in."""
    RNG.seed(request.node.nodeid)


def fake(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def source(path: str, text: str | bytes) -> SourceFile:
    data = text.encode() if isinstance(text, str) else text
    return SourceFile(path, data, blob_oid(data))


def check(files: dict[str, str | bytes], **settings: Any) -> list[Finding]:
    ctx = Context(root=Path("."), settings=settings)
    return S.SecretGate().check([source(p, t) for p, t in files.items()], ctx)


def scan(path: str, text: str, **settings: Any) -> list[Finding]:
    return check({path: text}, **settings)


# --------------------------------------------------------------------------------------
# The rule file


RULE_DATA = rules.rules("secrets")
SAMPLES = [
    pytest.param(rule["id"], kind, sample, id=f"{rule['id']}-{kind}-{n}")
    for rule in RULE_DATA
    for kind in ("refuse", "allow")
    for n, sample in enumerate(rule[kind])
]


def test_every_rule_compiles_and_has_samples_of_both_kinds() -> None:
    compiled = S.load_rules()
    assert [r.id for r in compiled] == [r["id"] for r in RULE_DATA]
    S.compile_rules(S._rule_data(), lazy=False)  # load_rules compiles on first use
    for rule in RULE_DATA:
        assert rule["refuse"] and rule["allow"], rule["id"]


@pytest.mark.parametrize(("rule_id", "kind", "sample"), SAMPLES)
def test_every_sample_is_judged_as_its_rule_says(
    rule_id: str, kind: str, sample: dict[str, str]
) -> None:
    found = scan(sample["path"], sample["code"])
    if kind == "refuse":
        assert rule_id in {f.rule for f in found}, [f.message for f in found]
    else:
        assert found == [], [f.message for f in found]


def test_the_rules_cover_the_common_credential_formats() -> None:
    ids = {r.id for r in S.load_rules()}
    expected = {
        "aws-access-key-id",
        "aws-secret-access-key",
        "github-pat",
        "github-fine-grained-pat",
        "gitlab-pat",
        "slack-token",
        "slack-webhook-url",
        "stripe-live-key",
        "google-api-key",
        "gcp-service-account-key",
        "private-key",
        "jwt",
        "npm-token",
        "npmrc-auth",
        "pypi-token",
        "openai-api-key",
        "anthropic-api-key",
        "twilio-api-key",
        "sendgrid-api-key",
        "mailgun-api-key",
        "heroku-api-key",
        "azure-storage-key",
        "database-url-password",
        "url-credentials",
        "docker-config-auth",
        "generic-password",
        "generic-secret",
    }
    assert expected <= ids


def rule_file(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "demo-token",
        "title": "Demo token",
        "description": "Finds demo tokens.",
        "why": "They are secret.",
        "fix": "Revoke it.",
        "regex": r"\b(demo_[a-z]{8})\b",
        "keywords": ["demo_"],
        "refuse": [{"path": "a.py", "code": "x = 'demo_abcdefgh'"}],
        "allow": [{"path": "a.py", "code": "x = 1"}],
    }
    rule.update(overrides)
    return {"version": 1, "rules": [rule]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"regex": "(unclosed"}, "demo-token: regex does not compile"),
        ({"keywords": ["Demo_"]}, "demo-token: expected a non-empty list of lower-case"),
        ({"keywords": []}, "demo-token: expected a non-empty list of lower-case"),
        ({"allow": []}, "demo-token: every rule needs `allow:` samples"),
        ({"refuse": [{"path": "a.py"}]}, "demo-token: expected {path: FILE, code: TEXT}"),
        ({"entropy": 9}, "demo-token: expected a number from 0 to 8"),
        ({"severity": "fatal"}, "demo-token: expected one of error, warning, note"),
        ({"keyword": ["demo_"]}, "demo-token: unknown key `keyword` (did you mean `keywords`?)"),
        ({"title": ""}, "demo-token: missing `title`"),
        ({"id": "Demo Token"}, "Demo Token: expected lower-case letters"),
        ({"allowlist": {"regexes": ["[x"]}}, "demo-token: regex does not compile"),
        ({"paths": "("}, "demo-token: regex does not compile"),
    ],
)
def test_rule_errors_name_the_rule(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        S.compile_rules(rule_file(**overrides))
    assert message in str(caught.value)
    assert str(caught.value).startswith(S.RULES_LABEL)


def test_a_lazily_compiled_rule_that_does_not_compile_says_so_when_used() -> None:
    (rule,) = S.compile_rules(rule_file(regex="(unclosed"), lazy=True)
    with pytest.raises(InputError, match=r"demo-token: regex does not compile") as caught:
        rule.regex.search("x")
    assert caught.value.key == "rules[0].regex"


def test_a_duplicate_rule_id_is_refused() -> None:
    data = rule_file()
    data["rules"].append(dict(data["rules"][0]))
    with pytest.raises(InputError, match="demo-token: the id is used twice"):
        S.compile_rules(data)


def test_the_parsed_rules_are_kept_as_json_in_the_user_cache_not_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parsed = rules.load.__wrapped__("secrets")
    copies = list((tmp_path / "cache" / "convergio-gate" / "rules").glob("secrets.*.json"))
    assert len(copies) == 1
    assert rules.load.__wrapped__("secrets") == parsed == S._rule_data()  # from the copy
    copies[0].write_text('{"version": 1, "rules": [], "from": "the copy"}')
    assert rules.load.__wrapped__("secrets")["from"] == "the copy"
    package = Path(str(resources.files("convergio_gate.rules")))
    assert not list(package.rglob("*.json"))  # pip uninstall would leave it behind


# --------------------------------------------------------------------------------------
# Findings


def github_token() -> str:
    return "ghp_" + fake(36)


def test_a_finding_names_the_rule_where_and_how_to_fix_it() -> None:
    token = github_token()
    text = f"import os\n\nTOKEN = '{token}'\n"
    [finding] = scan("app/config.py", text)
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert finding.gate == "secret"
    assert finding.rule == "github-pat"
    assert (finding.path, finding.line, finding.column) == ("app/config.py", 3, 10)
    assert finding.severity == "error"
    assert finding.key == finding.secret_sha256 == digest == S.secret_hash(token)
    assert finding.fingerprint == ""
    assert finding.preview == "ghp_…(40 chars)"
    assert finding.message == "GitHub personal access token"
    assert finding.fix.startswith("Revoke the token, remove it from the code")
    assert "rewrite history" in finding.fix
    assert finding.end_line is None


def test_a_generic_finding_says_which_name_holds_the_secret() -> None:
    value = fake(14, ALNUM + "!#%")
    [finding] = scan("db.py", f'DB_PASSWORD = "{value}"\n')
    assert finding.rule == "generic-password"
    assert finding.message == "Hard-coded password assigned to DB_PASSWORD"


def test_a_key_block_is_previewed_by_its_header_and_spans_lines() -> None:
    body = base64.b64encode(RNG.randbytes(300)).decode()
    block = "\n".join(
        ["-----BEGIN EC PRIVATE KEY-----", *textwrap.wrap(body, 64), "-----END EC PRIVATE KEY-----"]
    )
    [finding] = scan("deploy/key.pem", "# deploy key\n" + block + "\n")
    assert finding.rule == "private-key"
    assert finding.preview == "-----BEGIN EC PRIVATE KEY-----"
    assert (finding.line, finding.end_line) == (2, 2 + block.count("\n"))


def test_names_that_merely_start_like_a_prefix_are_still_secret_names() -> None:
    value = fake(14, ALNUM + "!#")
    assert [f.rule for f in scan("a.py", f'user_password = "{value}"\n')] == ["generic-password"]
    assert scan("a.py", f'passwordField = "{value}"\n') == []


def test_the_gate_finds_nothing_in_its_own_source_and_tests() -> None:
    root = Path(__file__).resolve().parents[2]
    paths = ["convergio_gate/gates/secret.py", "tests/gates/secret_test.py"]
    assert check({p: (root / p).read_text(encoding="utf-8") for p in paths}) == []


def test_a_token_found_by_a_format_rule_is_not_reported_again_as_generic() -> None:
    token = github_token()
    found = scan("ci.py", f'api_token = "{token}"\n')
    assert [f.rule for f in found] == ["github-pat"]


def test_a_documented_example_is_not_reported_by_a_later_generic_rule() -> None:
    assert scan("docs/aws.md", 'aws_access_key = "AKIAIOSFODNN7EXAMPLE"\n') == []


def test_each_occurrence_of_a_repeated_secret_is_a_finding() -> None:
    token = github_token()
    found = scan("a.sh", f"export A={token}\necho ok\nexport B={token}\n")
    assert [f.line for f in found] == [1, 3]
    assert len({f.key for f in found}) == 1
    assert all("the same value appears 2 times in this file" in f.message for f in found)


def test_the_same_secret_in_two_files_is_found_in_both() -> None:
    token = github_token()
    found = check({"a.py": f"T = '{token}'\n", "b.py": f"T = '{token}'\n"})
    assert sorted(f.path for f in found) == ["a.py", "b.py"]


def test_binary_files_are_skipped() -> None:
    data = b"\0\x01\x02" + github_token().encode()
    assert check({"logo.png": data}) == []


def test_large_files_are_searched_for_token_formats_only() -> None:
    token = github_token()
    password = fake(16, ALNUM + "!#")
    text = f'T = "{token}"\npassword = "{password}"\n' + "# filler\n" * 200
    small = scan("big.py", text)
    assert {f.rule for f in small} == {"github-pat", "generic-password"}
    large = scan("big.py", text, max_bytes=len(text) - 1)
    assert {f.rule for f in large} == {"github-pat"}


def test_lockfiles_are_not_searched_by_generic_rules() -> None:
    digest = RNG.randbytes(32).hex()
    token = github_token()
    text = f'[[package]]\nchecksum = "{digest}"\nsecret_token = "{fake(40)}"\nurl = "{token}"\n'
    assert [f.rule for f in scan("Cargo.lock", text)] == ["github-pat"]


def test_keywords_gate_the_regex() -> None:
    rule = S.compile_rules(rule_file(keywords=["absent_word"]))[0]
    assert S.scan_text("a.py", "x = 'demo_abcdefgh'\n", rules=[rule]) == []
    rule = S.compile_rules(rule_file())[0]
    assert [f.rule for f in S.scan_text("a.py", "x = 'demo_abcdefgh'\n", rules=[rule])] == [
        "demo-token"
    ]


def test_the_keyword_index_finds_every_keyword_including_nested_ones() -> None:
    index = S.KeywordIndex(["sk-", "sk-ant-", "token", "_key", "://"])
    text = "x sk-ant-1 token api_key http://h sk-q"
    found = index.find(text)
    assert found["sk-ant-"] == [text.index("sk-ant-")]
    assert sorted(found["sk-"]) == [text.index("sk-ant-"), text.rindex("sk-")]
    assert found["token"] == [text.index("token")]
    assert found["_key"] == [text.index("_key")]
    assert found["://"] == [text.index("://")]
    overlapping = S.KeywordIndex(["akia", "acca"]).find("xakiacca")
    assert overlapping == {"akia": [1], "acca": [4]}


def test_keywords_are_matched_case_insensitively_and_offsets_survive_unicode() -> None:
    token = github_token()
    text = "İİİ ñ\n" + f"Token = 'x'\nGH = '{token}'\n"
    [finding] = scan("u.py", text)
    assert (finding.line, finding.column) == (3, 7)


def test_a_secret_in_a_very_long_line_is_found_in_a_window() -> None:
    token = github_token()
    line = "var a=" + ",".join(str(i) for i in range(3000)) + f";var t='{token}';"
    [finding] = scan("bundle.js", line + "\n")
    assert finding.rule == "github-pat"
    assert finding.column == line.index(token) + 1


def test_pathological_input_stays_linear() -> None:
    chunks = ['password="', "token=", "://a:", "secret_key: '", "-----BEGIN PRIVATE KEY-----"]
    text = "".join(RNG.choice(chunks) + fake(5) for _ in range(40_000))
    start = time.process_time()
    S.scan_text("x.txt", text)
    S.scan_text("x.txt", text.replace(" ", "\n"))
    assert time.process_time() - start < 20


def test_the_gate_implements_the_protocol_and_is_registered() -> None:
    gate = registry.load("secret")
    assert isinstance(gate, Gate)
    assert isinstance(gate, S.SecretGate)
    assert (gate.id, gate.scope) == ("secret", "file")


# --------------------------------------------------------------------------------------
# Output never holds a secret


def planted() -> dict[str, tuple[str, str]]:
    """path -> (file text, the secret in it), one per common format."""
    pem_body = "\n".join(textwrap.wrap(base64.b64encode(RNG.randbytes(400)).decode(), 64))
    values = {
        "aws.py": ("AKIA" + fake(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 'KEY_ID = "{}"'),
        "gh.sh": (github_token(), "export GITHUB_TOKEN={}"),
        "gl.yml": ("glpat-" + fake(20, URLSAFE), "token: {}"),
        "slack.py": (
            f"xoxb-{fake(12, string.digits)}-{fake(13, string.digits)}-{fake(24)}",
            'SLACK = "{}"',
        ),
        "stripe.py": ("sk_live_" + fake(40), 'stripe.api_key = "{}"'),
        "openai.env": ("sk-proj-" + fake(100, URLSAFE), "OPENAI_API_KEY={}"),
        "anthropic.py": ("sk-ant-api03-" + fake(93, URLSAFE) + "AA", 'KEY = "{}"'),
        "db.py": (fake(18), 'URL = "postgres://app:{}@db.internal/app"'),
        "pw.py": (fake(14, ALNUM + "!#%&"), 'password = "{}"'),
        "cfg.ini": (fake(32), "api_key = {}"),
        "id_rsa": (
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
            "{}\n",
        ),
    }
    return {path: (form.format(value) + "\n", value) for path, (value, form) in values.items()}


def test_no_output_of_a_finding_holds_the_secret() -> None:
    files = planted()
    found = check({path: text for path, (text, _) in files.items()})
    assert {f.path for f in found} == set(files)
    for finding in found:
        secret = files[finding.path][1]
        outputs = [
            repr(finding),
            str(finding),
            json.dumps(finding.to_json(), ensure_ascii=False),
            json.dumps(finding.cache_json(), ensure_ascii=False),
            json.dumps(Finding.from_json(finding.cache_json()).to_json(), ensure_ascii=False),
        ]
        body = secret.split("-----")[2] if secret.startswith("-----BEGIN") else secret
        for output in outputs:
            assert secret not in output
            for at in range(len(body) - 5):
                piece = body[at : at + 6]
                if piece.strip() == piece:
                    assert piece not in output, (finding.rule, piece)


def test_a_short_secret_is_never_shown_whole() -> None:
    value = "".join(RNG.sample(ALNUM, 9))  # nine distinct characters: entropy log2(9)
    [finding] = scan("a.py", f'url = "https://deploy:{value}@git.example.org/x.git"\n')
    assert value not in repr(finding)
    assert finding.preview == f"{value[:2]}…(9 chars)"


# --------------------------------------------------------------------------------------
# redact and secret_hash


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ghp_" + "a1" * 18, "ghp_…(40 chars)"),
        ("hunter22", "hu…(8 chars)"),
        ("abcd", "a…(4 chars)"),
        ("abc", "…(3 chars)"),
        ("", "…(0 chars)"),
        ("\nsecret-value-here", "…(18 chars)"),
    ],
)
def test_redact(value: str, expected: str) -> None:
    assert S.redact(value) == expected


@given(st.text())
def test_redact_shows_at_most_four_characters_and_never_the_whole_value(value: str) -> None:
    shown = S.redact(value).split("…", 1)[0]
    assert len(shown) <= 4
    assert len(shown) <= len(value) // 4
    assert value.startswith(shown)
    assert S.redact(value).endswith(f"…({len(value)} chars)")


def test_secret_hash_is_the_sha256_of_the_utf8_value() -> None:
    assert S.secret_hash("pässword") == hashlib.sha256("pässword".encode()).hexdigest()
    assert len(S.secret_hash("x")) == 64


# --------------------------------------------------------------------------------------
# Not a secret: the filters


@pytest.mark.parametrize(
    "value",
    [
        "<your-key>",
        "xxxxxxxxxxxx",
        "XXXXXXXX",
        "changeme",
        "your_api_key_here",
        "REPLACE_ME",
        "dummy-token-value",
        "example-secret",
        "***",
        "sk-proj-your-key-here",
        "MyFakeToken123",
        "T00000000",
        "not-a-real-secret",
        base64.b64encode(b"alice:not my real password").decode(),
    ],
)
def test_placeholders(value: str) -> None:
    assert S.is_placeholder(value)


@pytest.mark.parametrize("value", ["q8Zk3LmX1vR7pT2w", "Tr0ub4dor&3", "hunter2hunter2"])
def test_not_placeholders(value: str) -> None:
    assert not S.is_placeholder(value)


def test_extra_placeholder_words_come_from_the_settings() -> None:
    assert not S.is_placeholder("acme-sandbox-7f3k2")
    assert S.is_placeholder("acme-sandbox-7f3k2", extra=("sandbox",))
    text = f'api_key = "acme-sandbox-{fake(20)}"\n'
    assert scan("a.py", text) != []
    assert scan("a.py", text, placeholders=["sandbox"]) == []


@pytest.mark.parametrize(
    "value",
    ["${VAR}", "{{ var }}", "{{.Values.token}}", "%(var)s", "$VAR", "#{var}", "<%= var %>", "{0}"],
)
def test_template_variables(value: str) -> None:
    assert S.is_template_variable(value)


@pytest.mark.parametrize(
    ("value", "before"),
    [
        ('os.environ["API_KEY"]', ""),
        ('os.getenv("API_KEY")', ""),
        ("process.env.API_KEY", ""),
        ("ENV['API_KEY']", ""),
        ('System.getenv("API_KEY")', ""),
        ("API_KEY", 'key = os.environ["'),
        ("API_KEY", "key = os.getenv('"),
        ("API_KEY", "const key = process.env."),
    ],
)
def test_env_lookups(value: str, before: str) -> None:
    assert S.is_env_lookup(value, before)


def test_a_default_next_to_an_env_lookup_is_still_a_secret() -> None:
    value = fake(24)
    [finding] = scan("a.py", f'api_key = os.environ.get("API_KEY", "{value}")\n')
    assert finding.rule == "generic-secret"


@pytest.mark.parametrize(
    ("value", "key", "before", "path"),
    [
        (hashlib.md5(b"x", usedforsecurity=False).hexdigest(), "md5", "", ""),
        (hashlib.sha1(b"x", usedforsecurity=False).hexdigest(), "", "commit = '", ""),
        (hashlib.sha256(b"x").hexdigest(), "token_sha256", "", ""),
        (hashlib.sha256(b"x").hexdigest(), "", "", "poetry.lock"),
        ("sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode(), "", "", ""),
        ("sha256:" + hashlib.sha256(b"x").hexdigest(), "", "", ""),
        (base64.b64encode(hashlib.sha256(b"x").digest()).decode(), "", 'pin-sha256="', ""),
    ],
)
def test_hashes(value: str, key: str, before: str, path: str) -> None:
    assert S.is_hash(value, key, before, path)


def test_a_hex_secret_under_a_secret_name_is_not_a_hash() -> None:
    value = RNG.randbytes(16).hex()
    assert not S.is_hash(value, "SHARED_SECRET", "SHARED_SECRET = '", "app.py")
    assert [f.rule for f in scan("app.py", f'SHARED_SECRET = "{value}"\n')] == ["generic-secret"]


def test_uuids_and_commit_ids() -> None:
    assert S.is_uuid("3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34")
    assert not S.is_uuid("3f2b8c1e9d4a4c6b8e2f1a7d5c9b0e34")
    assert S.is_git_commit_id("1a2b3c4d5e6f", "rev: '")
    assert not S.is_git_commit_id("1a2b3c4d5e6f", "password = '")


@pytest.mark.parametrize(
    "path",
    ["package-lock.json", "web/yarn.lock", "poetry.lock", "Cargo.lock", "go.sum", "x/uv.lock"],
)
def test_lockfiles(path: str) -> None:
    assert S.is_lockfile(path)


def test_documented_examples_and_test_mode_keys() -> None:
    assert S.is_documented_example("AKIAIOSFODNN7EXAMPLE")
    assert S.is_documented_example("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert S.is_test_mode_key("sk_test_" + fake(24))
    assert S.is_test_mode_key("pk_live_" + fake(24))
    assert not S.is_test_mode_key("sk_live_" + fake(24))


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("API_KEY", "API_KEY_ENV"),
        ("ACME_API_KEY", "api_key"),
        ("password_confirmation", "PASSWORD_FIELD"),
        ("settings.SECRET_KEY", "secret"),
        ("accessToken", "token"),
        ("X-Auth-Token", "TOKEN_HEADER"),
        ("_EllipticCurvePrivateKey", "private_key"),
        ("MYTOKEN1", "_authToken"),
        ("TKTokenKeyAlgorithm", "TKTokenDriverConfiguration"),
    ],
)
def test_references_to_secrets_are_not_secrets(value: str, key: str) -> None:
    assert S.is_reference(value, key)


def test_a_random_value_is_not_a_reference() -> None:
    assert not S.is_reference(fake(32), "api_key")


@pytest.mark.parametrize(
    "value", ["password", "secret", "TestPassword123", "SuperSecret1", "p@ssw0rd", "geheim$parole"]
)
def test_fixture_values(value: str) -> None:
    assert S.is_common_fixture(value)


def test_data_uris_and_encoded_images() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + RNG.randbytes(40)).decode()
    assert S.is_data_uri(png)
    assert S.is_data_uri(fake(40, ALNUM + "+/"), "src: url(data:image/gif;base64,")
    assert not S.is_data_uri(fake(40))


def test_sequences_urls_paths_and_code() -> None:
    assert S.is_sequential("abcdefghijklmnop")
    assert S.is_sequential("0123456789abcdefABCDEF")
    assert not S.is_sequential(fake(20))
    assert S.is_url_or_path("https://auth.example.org/oauth/token")
    assert S.is_url_or_path("/run/secrets/db_password")
    assert not S.is_url_or_path("https://user:pw@example.org/")
    assert S.is_code_expression("get_password()")
    assert S.is_code_expression("self.token")
    assert S.is_code_expression("null")


def test_names_in_a_list_of_words_are_not_a_name_and_its_value() -> None:
    directives = '"authformlogout", "authformpassword", "authformprovider", "authformsize"'
    assert scan("lexers/apache.rb", f"KEYWORDS = Set[{directives}]\n") == []
    one_a_line = "".join(f"    {word},\n" for word in directives.split(", "))
    assert scan("lexers/apache.py", f"KEYWORDS = [\n{one_a_line}]\n") == []
    first = '["authformpassword", "authformprovider", "authformsize"]'  # none before it
    assert scan("lexers/apache.js", f"const KEYWORDS = {first};\n") == []
    value = "Xk9mQ2vLpZwe"  # a value with digits is not a plain word, even in a list
    assert [f.rule for f in scan("a.py", f'words = ["a", "password", "{value}"]\n')] == [
        "generic-password"
    ]
    word = "Maplewoodlane"  # a plain word, but no string before the name: a pair
    assert [f.rule for f in scan("a.py", f'pair = ("password", "{word}")\n')] == [
        "generic-password"
    ]
    flag = f'args = ["mysql", "-u", "root", "--password", "{word}"]\n'
    assert [f.rule for f in scan("a.py", flag)] == ["generic-password"]  # a flag's value
    text = f"KEYWORDS = Set[{directives}]"
    key = text.index("authformpassword")
    value_at = text.index("authformprovider")
    span = (value_at, value_at + len("authformprovider"))
    assert S.in_word_list(text, (key, key + len("authformpassword")), span)
    assert not S.in_word_list(text, (key, key + 4), span)  # not the whole string before


def test_malformed_and_unsigned_jwts_are_not_tokens() -> None:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    header, payload = part({"alg": "HS256", "typ": "JWT"}), part({"sub": "42"})
    signature = base64.urlsafe_b64encode(RNG.randbytes(32)).decode().rstrip("=")
    assert not S.is_malformed_jwt(f"{header}.{payload}.{signature}")
    assert S.is_malformed_jwt(f"{header}.{payload}.{signature[:20]}")
    assert S.is_malformed_jwt(f"{part({'alg': 'none'})}.{payload}.{signature}")


def test_not_a_secret_names_the_filter_that_decided() -> None:
    settings = S.SecretSettings()
    candidate = S.Candidate("AKIAIOSFODNN7EXAMPLE")
    assert S.not_a_secret(candidate, False, settings) == "documented-example"
    assert S.not_a_secret(S.Candidate("3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34"), True, settings) == (
        "uuid"
    )
    assert S.not_a_secret(S.Candidate("3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34"), False, settings) is (
        None
    )


# --------------------------------------------------------------------------------------
# Settings and detect-secrets


def test_settings_are_validated_with_the_nearest_key() -> None:
    with pytest.raises(InputError, match="did you mean `max_bytes`"):
        S.SecretSettings.from_mapping({"max_byte": 10})
    with pytest.raises(InputError, match="expected off, auto or on"):
        S.SecretSettings.from_mapping({"detect_secrets": "always"})
    with pytest.raises(InputError, match="positive number of bytes"):
        S.SecretSettings.from_mapping({"max_bytes": True})
    with pytest.raises(InputError, match="list of words"):
        S.SecretSettings.from_mapping({"placeholders": "sandbox"})
    settings = S.SecretSettings.from_mapping({"enabled": True, "severity": "warning"})
    assert settings == S.SecretSettings()


KEYWORDLESS = "SIGNING = '{}'\n"


def test_detect_secrets_is_off_by_default_and_never_imported() -> None:
    program = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from convergio_gate.gates._base import Context, SourceFile
        from convergio_gate.gates.secret import SecretGate
        data = {KEYWORDLESS.format(fake(40, ALNUM + "+/")).encode()!r}
        found = SecretGate().check([SourceFile("a.py", data, "0")], Context(root=Path(".")))
        print(len(found), "detect_secrets" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["0", "False"]


def test_auto_sends_only_undecided_high_entropy_lines_to_detect_secrets() -> None:
    pytest.importorskip("detect_secrets")
    value = fake(40, ALNUM + "+/")
    text = KEYWORDLESS.format(value) + f'password = "{fake(14, ALNUM + "!#")}"\n'
    assert [f.rule for f in scan("a.py", text)] == ["generic-password"]
    found = scan("a.py", text, detect_secrets="auto")
    assert sorted(f.rule for f in found) == [
        "detect-secrets-base64-high-entropy-string",
        "generic-password",
    ]
    assert all(value not in repr(f) for f in found)


def test_auto_filters_detect_secrets_noise() -> None:
    pytest.importorskip("detect_secrets")
    text = (
        f"DIGEST = '{RNG.randbytes(32).hex()}'\n"
        "ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'\n"
        "NAME = 'crypto_aead_xchacha20poly1305_ietf_NPUBBYTES'\n"
    )
    assert scan("a.py", text, detect_secrets="auto") == []


def test_on_without_detect_secrets_installed_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> list[Any]:
        raise ImportError("No module named 'detect_secrets'")

    monkeypatch.setattr(S, "_detect_secrets_plugins", missing)
    text = KEYWORDLESS.format(fake(40, ALNUM + "+/"))
    assert scan("a.py", text, detect_secrets="auto") == []
    with pytest.raises(InputError, match="pip install detect-secrets"):
        scan("a.py", text, detect_secrets="on")


def test_detect_secrets_plugins_that_duplicate_our_rules_are_not_run() -> None:
    pytest.importorskip("detect_secrets")
    names = {type(p).__name__ for p in S._detect_secrets_plugins()}
    assert "Base64HighEntropyString" in names
    assert "KeywordDetector" in names
    assert not names & S.DETECT_SECRETS_COVERED


# --------------------------------------------------------------------------------------
# Shapes and formats found missing by the quality benchmark (bench/quality.py)

HEXDIGITS = "0123456789abcdef"


def snowflake_token() -> str:
    """A Discord bot token: base64 of an 18-digit id, then two base64url parts."""
    user_id = str(RNG.randrange(10**17, 10**18))
    first = base64.b64encode(user_id.encode()).decode().rstrip("=")
    return f"{first}.{fake(6, URLSAFE)}.{fake(38, URLSAFE)}"


def human_secret() -> str:
    """A chosen password: a word, a symbol, digits, capitals (11 to 13 characters)."""
    word = RNG.choice(["Maple", "Quartz", "Nimbus", "Copper", "Harbor"])
    return (
        f"{word}{RNG.choice('@#!%^*')}{RNG.randrange(1950, 2030)}{fake(2, string.ascii_uppercase)}"
    )


@pytest.mark.parametrize(
    ("value", "classes"),
    [("abcdefgh", 1), ("deadbeef42", 2), ("Abcdef12", 3), ("Ab1!", 4), ("", 0), ("日本", 1)],
)
def test_character_classes(value: str, classes: int) -> None:
    assert S.character_classes(value) == classes


def test_a_short_chosen_secret_under_a_secret_name_is_found() -> None:
    for line in (
        'const privateToken = "{v}"',
        'client_secret = "{v}"',
        "config.signing_secret = '{v}'",
        '"apiKey": "{v}"',
    ):
        value = human_secret()
        found = scan("app.go", line.format(v=value) + "\n")
        assert [f.rule for f in found] == ["generic-secret"], line


@pytest.mark.parametrize(
    "template",
    [
        'token = "{w}{d}"',  # two kinds of character
        'secret = "{W}{W}"',  # letters of both cases only
        'auth(token, "{W}-{d}")',  # a value next to the name, not assigned to it
        '{{token.FLOAT, "0x{d}p-{d}"}},',
        'secret_key = "Secret{d}!"',  # made of fixture words
        'token = "X-Csrf-Token"',  # a header's name
    ],
)
def test_short_values_that_are_not_chosen_secrets(template: str) -> None:
    letters = fake(5, string.ascii_letters)
    line = template.format(w=fake(6, string.ascii_lowercase), W=letters, d=RNG.randrange(10, 99))
    assert scan("app.py", line + "\n") == []


def test_a_hex_key_under_a_secret_name_uses_the_hex_entropy() -> None:
    value = fake(32, HEXDIGITS[:10])
    assert 3.0 <= S.shannon_entropy(value) < 3.5
    [finding] = scan("Metrics.java", f'static final String API_KEY = "{value}";\n')
    assert finding.rule == "generic-secret"
    assert scan("Metrics.java", f'static final String API_KEY = "{fake(32, "abc")}";\n') == []


def test_dotted_property_keys_are_secret_names() -> None:
    found = scan("application.properties", f"acme.api.key={fake(32)}\nmail.smtp.pass={fake(16)}\n")
    assert [f.rule for f in found] == ["generic-config-secret", "generic-config-secret"]
    heroku = "-".join(fake(n, HEXDIGITS) for n in (8, 4, 4, 4, 12))
    [finding] = scan("application.properties", f"heroku.api.key={heroku}\n")
    assert finding.rule == "heroku-api-key"


def test_a_hash_sign_inside_a_config_value_is_part_of_it() -> None:
    value = f"{fake(6)}#{fake(6)}"
    [finding] = scan("app.properties", f"redis.password={value}\n")
    assert finding.preview == S.redact(value)
    assert scan("app.yaml", f"password: {fake(4)} # {fake(12)}\n") == []


@pytest.mark.parametrize(
    ("rule", "token"),
    [
        ("new-relic-key", lambda: "NRAK-" + fake(27, string.ascii_uppercase + string.digits)),
        ("new-relic-key", lambda: "NRII-" + fake(32, URLSAFE)),
        ("brevo-api-key", lambda: f"xkeysib-{fake(64, HEXDIGITS)}-{fake(16)}"),
        ("postman-api-key", lambda: f"PMAK-{fake(24, HEXDIGITS)}-{fake(34, HEXDIGITS)}"),
        ("linear-api-key", lambda: "lin_api_" + fake(40)),
        (
            "atlassian-api-token",
            lambda: f"ATATT3{fake(176, URLSAFE)}={fake(8, '0123456789ABCDEF')}",
        ),
    ],
)
def test_prefixed_formats_are_found_bare(rule: str, token: Any) -> None:
    value = token()
    for text in (f'client = NewClient("{value}")\n', f"Set `KEY` to `{value}` first.\n"):
        [finding] = scan("main.go", text)
        assert finding.rule == rule


def test_datadog_keys_under_datadog_names() -> None:
    for name, size in (("DD_API_KEY", 32), ("dd_app_key", 40), ("datadog.api.key", 32)):
        value = fake(size, HEXDIGITS)
        [finding] = scan("config.py", f'{name} = "{value}"\n')
        assert finding.rule == "datadog-api-key", name
    assert scan("config.py", f'ADD_API_KEY_TO = "{fake(3)}"\n') == []


def test_a_bare_discord_token_is_found_in_a_file_that_names_discord() -> None:
    token = snowflake_token()
    code = f'import "github.com/bwmarrin/discordgo"\n\nvar s, _ = discordgo.New("Bot {token}")\n'
    [finding] = scan("bot.go", code)
    assert finding.rule == "discord-bot-token"
    assert scan("bot.go", code.replace("discordgo", "chat")) == []  # no Discord in the file


def test_a_bare_discord_token_needs_an_id_as_its_first_part() -> None:
    not_an_id = f"M{fake(23)}.{fake(6, URLSAFE)}.{fake(38, URLSAFE)}"
    assert scan("bot.py", f"import discord\nclient.run('{not_an_id}')\n") == []
    named = scan("bot.py", f"import discord\nDISCORD_TOKEN = '{not_an_id}'\n")
    assert [f.rule for f in named] == ["discord-bot-token"]


@pytest.mark.parametrize(
    "template",
    [
        "mysql -u reporter -p'{pw}' -h db.internal app < dump.sql",
        'mysqldump -u root -p"{pw}" app',
        "sshpass -p '{pw}' ssh deploy@backup.internal",
        "sshpass -p{pw} scp a b:",
        "curl -u reporter:{pw} https://reports.acme.dev/export.csv",
        "curl -fsS --user 'svc:{pw}' https://reports.acme.dev/",
        "docker login -u deploy -p {pw} registry.acme.dev",
        "redis-cli -h cache.internal -a '{pw}' FLUSHALL",
    ],
)
def test_passwords_on_command_lines(template: str) -> None:
    pw = fake(14, ALNUM + "!#^*+=?_")
    [finding] = scan("deploy.sh", template.format(pw=pw) + "\n")
    assert finding.rule == "cli-password"
    assert finding.preview == S.redact(pw)


@pytest.mark.parametrize(
    "line",
    [
        'mysql -u root -p"$MYSQL_PASSWORD" app',
        "mysql -u root -p -P 33060 app",
        'sshpass -p "$SSH_PASSWORD" ssh deploy@host',
        'curl -u "$USER:$TOKEN" https://api.acme.dev/',
        "curl -u admin:changeme http://localhost:9200/",
        "curl -u user: https://api.acme.dev/",
        "curl -o out.txt https://api.acme.dev/ && mysql -u app",
        "docker login -u deploy --password-stdin registry.acme.dev",
    ],
)
def test_command_lines_without_a_password(line: str) -> None:
    assert scan("deploy.sh", line + "\n") == []


def test_a_url_with_an_empty_user_name() -> None:
    pw = fake(18)
    [finding] = scan("cache.py", f'CACHE_URL = "redis://:{pw}@cache.internal:6379/0"\n')
    assert finding.rule == "database-url-password"
    assert [f.rule for f in scan("m.sh", f"git clone https://:{pw}@git.acme.dev/a.git\n")] == [
        "url-credentials"
    ]


def test_environment_variable_lists_in_manifests() -> None:
    value = fake(24, ALNUM + "#-")
    manifest = textwrap.dedent(
        f"""\
        env:
          - name: AUTH_TOKEN
            value: "{value}"
          - name: LOG_LEVEL
            value: debug
          - name: DB_PASSWORD
            valueFrom:
              secretKeyRef: {{name: db, key: password}}
        """
    )
    [finding] = scan("k8s/deploy.yaml", manifest)
    assert (finding.rule, finding.line) == ("env-var-pair-secret", 3)
    ecs = f'[{{"name": "API_TOKEN", "value": "{value}"}}]\n'
    assert [f.rule for f in scan("task.json", ecs)] == ["env-var-pair-secret"]
    assert scan("notes.txt", manifest) == []  # manifests only


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "db_password"),
        ("arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/app/token", "token"),
        ("projects/acme-prod/secrets/api-token/versions/latest", "api_token"),
        ("X-Auth-Token", "auth_token"),
    ],
)
def test_secret_manager_names_and_header_names_are_references(value: str, key: str) -> None:
    assert S.is_reference(value, key)
    assert scan("settings.py", f'{key} = "{value}"\n') == []


@pytest.mark.parametrize(
    ("value", "before", "path", "expected"),
    [
        ("*default_creds", "password: ", "app.yaml", True),  # a YAML alias
        ("&anchor", "password: ", "app.yml", True),
        ("!vault", "password: ", "group_vars/all.yml", True),
        ("!vault", "password: ", "", True),  # a file of unknown kind: as YAML
        ("*mWk24l4qiX", "DB_PASS='", "deploy.sh", False),  # quoted: a literal
        ("*mWk24l4qiX", "password: '", "app.yaml", False),
        ("&f0HCwFlPV1wa", 'value="', "web.config", False),
        ("!Px%tFCnfiCyq", "password = ", "app.ini", False),  # not YAML: a literal
        ("*?5txl-5@+0YA", "api.key=", "app.properties", False),
        ("!8#sqo8Au%4CK", "login ci password ", ".netrc", False),
        ("$2b$12$abcdefghijk", 'password = "', "app.py", True),
        ("@Microsoft.KeyVault(SecretUri=x)", '"DbPassword": "', "appsettings.json", True),
        ("(?:key|pwd|password|token)", "secret_keyword = r'", "aws.py", True),  # a regex
        ("[REDACTED]", 'password = "', "app.py", True),
    ],
)
def test_yaml_sigils_start_an_expression_only_unquoted_in_yaml(
    value: str, before: str, path: str, expected: bool
) -> None:
    assert S.is_code_expression(value, before, path) is expected


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("restore.sh", "mysql -u admin -p'!{pw}' -h db.internal app"),
        (".netrc", "machine api.acme.dev login ci password !{pw}"),
        ("app.ini", "password = !{pw}"),
        ("app.properties", "api.key=*{pw}"),
        ("web.config", '<add key="DbPass" value="{pw}" />'),
        ("App.config", "<encryptionKey>{pw}</encryptionKey>"),
        ("k8s/deploy.yaml", '- name: DB_PASS\n  value: "{pw}"'),
        (".netrc", "machine api.acme.dev login ci password G^{pw}@VV@x"),
    ],
)
def test_values_that_start_or_hold_symbols_are_still_found(path: str, template: str) -> None:
    pw = fake(14, ALNUM + "#%^+?_")
    assert len(scan(path, template.format(pw=pw) + "\n")) == 1


@pytest.mark.parametrize("value", ["@DB_PASSWORD@", "@db.password@"])
def test_build_filter_tokens_are_templates_as_whole_values(value: str) -> None:
    assert S.is_template_variable(value)
    assert not S.is_template_variable(f"G^qB{value}jq")


@pytest.mark.parametrize("value", ["%DB_PASSWORD%", "%env(DATABASE_URL)%", "%kernel.secret%"])
def test_windows_and_symfony_variables_are_templates(value: str) -> None:
    assert S.is_template_variable(value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hex_entropy": 5}, "demo-token: expected a number from 0 to 4"),
        ({"hex_entropy": True}, "demo-token: expected a number from 0 to 4"),
        ({"short": {"entropy": 3}}, "demo-token: expected {min_length, entropy, classes, before}"),
        ({"short": {"min_length": 8, "size": 1}}, "demo-token: expected {min_length, entropy"),
        ({"short": {"min_length": 0}}, "demo-token: expected a positive integer"),
        ({"short": {"min_length": 8, "classes": 5}}, "demo-token: expected a number of kinds"),
        ({"short": {"min_length": 8, "entropy": 9}}, "demo-token: expected a number from 0 to 8"),
        ({"short": {"min_length": 8, "before": "("}}, "demo-token: regex does not compile"),
    ],
)
def test_new_rule_fields_are_validated(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        S.compile_rules(rule_file(**overrides))
    assert message in str(caught.value)


def test_the_new_shapes_stay_linear() -> None:
    chunks = [
        "curl -u a:",
        "mysql -p'",
        "sshpass -p ",
        "- name: TOKEN_",
        "\n  value: ",
        "MTIzNDU2",
        "discord",
        "heroku.api.",
        "redis://:",
        "acme.api.key=",
    ]
    text = "".join(RNG.choice(chunks) + fake(5) for _ in range(20_000))
    start = time.process_time()
    S.scan_text("x.yaml", text)
    S.scan_text("x.sh", text.replace(" ", "\n"))
    assert time.process_time() - start < 20
