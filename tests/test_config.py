"""The config model: parsing, validation, file loading and the Provider's use of it.

Every error is a :class:`ConfigError` whose ``key`` names the bad value the
way the user wrote it (``clients[0].redirect_uris[1]``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mockauth import (
    ClientConfig,
    ConfigError,
    Provider,
    ProviderConfig,
    ServerConfig,
    TokenConfig,
    UserConfig,
    load_config,
)
from mockauth.config import STANDARD_CLAIMS, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


def config_error(cls: type[Any], data: dict[str, Any]) -> ConfigError:
    """Parse ``data`` into ``cls`` and return the ConfigError it must raise."""
    build = ServerConfig.from_mapping if cls is ServerConfig else functools.partial(parse, cls)
    with pytest.raises(ConfigError) as info:
        build(data)
    return info.value


def load_error(path: Path) -> ConfigError:
    """The ConfigError ``load_config(path)`` must raise; it names the file as its source."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    return info.value


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "data", "key", "fragment"),
    [
        (ProviderConfig, {"seed": "3"}, "seed", "expected an integer"),
        (ProviderConfig, {"seed": 3.0}, "seed", "expected an integer"),
        (ProviderConfig, {"seed": True}, "seed", "expected an integer"),
        (ProviderConfig, {"require_pkce": 1}, "require_pkce", "expected true or false"),
        (ProviderConfig, {"require_pkce": "yes"}, "require_pkce", "expected true or false"),
        (ProviderConfig, {"issuer_id": 7}, "issuer_id", "expected a string"),
        (ProviderConfig, {"clients": {"client_id": "a"}}, "clients", "expected a list"),
        (ProviderConfig, {"clients": ["a"]}, "clients[0]", "expected a table/object"),
        (ProviderConfig, {"tokens": 5}, "tokens", "expected a table/object"),
        (ProviderConfig, {"scopes_supported": 5}, "scopes_supported", "expected a list"),
        (ProviderConfig, {"scopes_supported": ["a", 1]}, "scopes_supported[1]", "a string"),
        (ClientConfig, {"public": "false"}, "public", "expected true or false"),
        (ClientConfig, {"audience": 5}, "audience", "expected a list"),
        (ClientConfig, {"extra_claims": ["a"]}, "extra_claims", "expected a table/object"),
        (ClientConfig, {"extra_claims": {1: "x"}}, "extra_claims", "keys must be strings"),
        (ClientConfig, {"name": ["x"]}, "name", "expected a string"),
        (UserConfig, {"claims": "admin"}, "claims", "expected a table/object"),
        (UserConfig, {"password": 1234}, "password", "expected a string"),
        (TokenConfig, {"access_token_ttl": "3600"}, "access_token_ttl", "expected an integer"),
        (TokenConfig, {"issue_refresh_tokens": 0}, "issue_refresh_tokens", "true or false"),
        (ServerConfig, {"port": "8080"}, "port", "expected an integer"),
        (ServerConfig, {"issuers": {"issuer_id": "a"}}, "issuers", "expected a list"),
    ],
)
def test_wrong_types_are_named(
    cls: type[Any], data: dict[str, Any], key: str, fragment: str
) -> None:
    error = config_error(cls, data)
    assert error.key == key
    assert fragment in error.message
    assert str(error).startswith(f"{key}: ")


def test_an_error_describes_the_value_it_got() -> None:
    error = config_error(ProviderConfig, {"seed": "three"})
    assert "'three' (str)" in error.message


def test_optional_fields_accept_null() -> None:
    config = parse(ClientConfig, {"client_id": None, "grant_types": None})
    assert config.client_id is None
    assert config.grant_types is None


def test_a_string_stands_for_a_list_of_space_separated_words() -> None:
    client = parse(ClientConfig, {"allowed_scopes": "openid read  write"})
    assert client.allowed_scopes == ("openid", "read", "write")
    provider = parse(ProviderConfig, {"scopes_supported": "openid api"})
    assert provider.scopes_supported == ("openid", "api")


def test_lists_become_tuples_and_nested_tables_become_config_objects() -> None:
    config = ProviderConfig.from_mapping(
        {
            "clients": [{"client_id": "web", "redirect_uris": ["http://127.0.0.1/cb"]}],
            "users": [{"username": "alice"}],
            "tokens": {"access_token_ttl": 60},
        }
    )
    assert config.clients == (
        ClientConfig(client_id="web", redirect_uris=("http://127.0.0.1/cb",)),
    )
    assert config.users == (UserConfig(username="alice"),)
    assert config.tokens == TokenConfig(access_token_ttl=60)
    assert isinstance(config.clients[0].redirect_uris, tuple)


def test_config_objects_are_frozen_and_keyword_only() -> None:
    config = ProviderConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        ProviderConfig("default")  # type: ignore[call-arg]


# --- Literals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key", "bad"),
    [
        ({"tokens": {"signing_alg": "RS512"}}, "tokens.signing_alg", "'RS512'"),
        ({"tokens": {"signing_alg": "rs256"}}, "tokens.signing_alg", "'rs256'"),
        ({"tokens": {"access_token_format": "jwe"}}, "tokens.access_token_format", "'jwe'"),
        (
            {"clients": [{"grant_types": ["authorization_code", "implicit"]}]},
            "clients[0].grant_types[1]",
            "'implicit'",
        ),
        (
            {"clients": [{"token_endpoint_auth_method": "tls_client_auth"}]},
            "clients[0].token_endpoint_auth_method",
            "'tls_client_auth'",
        ),
    ],
)
def test_literals_list_the_allowed_values(data: dict[str, Any], key: str, bad: str) -> None:
    error = config_error(ProviderConfig, data)
    assert error.key == key
    assert error.message.startswith(f"{bad} is not one of ")


def test_literal_error_lists_every_signing_alg() -> None:
    error = config_error(TokenConfig, {"signing_alg": "none"})
    for alg in ("RS256", "PS256", "ES256", "EdDSA", "HS256"):
        assert repr(alg) in error.message


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA", "HS256"])
def test_every_signing_alg_is_accepted(alg: str) -> None:
    assert parse(TokenConfig, {"signing_alg": alg}).signing_alg == alg


# --- nested keys and list indexes ------------------------------------------------


def test_error_in_a_nested_list_names_every_index() -> None:
    error = config_error(
        ProviderConfig,
        {
            "clients": [
                {"client_id": "ok", "redirect_uris": ["http://127.0.0.1/cb"]},
                {"client_id": "bad", "redirect_uris": ["http://127.0.0.1/cb", "/cb"]},
            ]
        },
    )
    assert error.key == "clients[1].redirect_uris[1]"
    assert str(error).startswith("clients[1].redirect_uris[1]: '/cb' is not an absolute URI")


def test_error_inside_a_second_issuer_names_the_issuer_index() -> None:
    error = config_error(
        ServerConfig,
        {
            "issuers": [
                {"issuer_id": "a"},
                {"issuer_id": "b", "clients": [{"post_logout_redirect_uris": ["bye"]}]},
            ]
        },
    )
    assert error.key == "issuers[1].clients[0].post_logout_redirect_uris[0]"


def test_error_from_a_post_init_check_gets_the_full_prefix() -> None:
    error = config_error(
        ServerConfig, {"issuers": [{"issuer_id": "a", "tokens": {"code_ttl": 601}}]}
    )
    assert error.key == "issuers[0].tokens.code_ttl"


# --- unknown keys --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "data", "key", "suggestion"),
    [
        (ProviderConfig, {"sede": 3}, "sede", "seed"),
        (ProviderConfig, {"client": []}, "client", "clients"),
        (ProviderConfig, {"clients": [{"redirect_uri": []}]}, "clients[0].redirect_uri", None),
        (ProviderConfig, {"tokens": {"acces_token_ttl": 5}}, "tokens.acces_token_ttl", None),
        (ProviderConfig, {"users": [{"usename": "a"}]}, "users[0].usename", "username"),
        (ServerConfig, {"issuers": [{"isuer_id": "a"}]}, "issuers[0].isuer_id", "issuer_id"),
        (ServerConfig, {"prot": 1}, "prot", "port"),
    ],
)
def test_unknown_keys_suggest_a_close_match(
    cls: type[Any], data: dict[str, Any], key: str, suggestion: str | None
) -> None:
    error = config_error(cls, data)
    assert error.key == key
    assert error.message.startswith("unknown key; did you mean ")
    if suggestion is not None:
        assert error.message == f"unknown key; did you mean {suggestion!r}?"


def test_suggestions_are_the_real_field_names() -> None:
    assert config_error(ClientConfig, {"redirect_uri": []}).message.endswith("'redirect_uris'?")
    assert config_error(TokenConfig, {"acces_token_ttl": 5}).message.endswith("'access_token_ttl'?")


def test_unknown_key_far_from_any_name_has_no_suggestion() -> None:
    error = config_error(ProviderConfig, {"zzzzzz": 1})
    assert error.key == "zzzzzz"
    assert error.message == "unknown key"


def test_a_misspelt_standard_claim_on_a_user_suggests_the_claim() -> None:
    error = config_error(ProviderConfig, {"users": [{"username": "a", "emial": "a@x.test"}]})
    assert error.key == "users[0].emial"
    assert error.message == "unknown key; did you mean 'email'?"


# --- users: standard claims at the top level vs. claims -------------------------


def test_standard_claims_at_the_top_level_of_a_user_go_into_claims() -> None:
    user = parse(UserConfig, {"username": "a", "email": "a@x.test", "name": "A", "locale": "de"})
    assert user.claims == {"email": "a@x.test", "name": "A", "locale": "de"}
    assert user == parse(
        UserConfig, {"username": "a", "claims": {"email": "a@x.test", "name": "A", "locale": "de"}}
    )


def test_every_standard_claim_may_stand_at_the_top_level() -> None:
    data: dict[str, Any] = {claim: f"value-{claim}" for claim in STANDARD_CLAIMS}
    user = parse(UserConfig, {"username": "a", **data})
    assert user.claims == data


def test_top_level_claims_merge_with_the_claims_table() -> None:
    user = parse(UserConfig, {"username": "a", "email": "a@x.test", "claims": {"roles": ["r"]}})
    assert user.claims == {"roles": ["r"], "email": "a@x.test"}


def test_a_custom_claim_at_the_top_level_of_a_user_is_an_unknown_key() -> None:
    error = config_error(ProviderConfig, {"users": [{"username": "a", "roles": ["admin"]}]})
    assert error.key == "users[0].roles"
    assert error.message.startswith("unknown key")


@pytest.mark.parametrize("claim", ["sub", "iss", "aud", "exp", "iat"])
def test_claims_the_provider_sets_are_refused(claim: str) -> None:
    error = config_error(ProviderConfig, {"users": [{"username": "a", "claims": {claim: "x"}}]})
    assert error.key == f"users[0].claims.{claim}"


@pytest.mark.parametrize("field", ["username", "sub"])
def test_empty_user_names_are_refused(field: str) -> None:
    assert config_error(UserConfig, {field: ""}).key == field


def test_duplicate_users_are_refused() -> None:
    error = config_error(ProviderConfig, {"users": [{"username": "a"}, {"username": "a"}]})
    assert error.key == "users"
    assert "'a'" in error.message


def test_a_user_named_by_sub_only_is_checked_for_duplicates_too() -> None:
    error = config_error(ProviderConfig, {"users": [{"sub": "s1"}, {"sub": "s1"}]})
    assert error.key == "users"


def test_claims_must_be_json_values() -> None:
    error = config_error(
        ProviderConfig, {"users": [{"username": "a", "claims": {"roles": [{"x": object()}]}}]}
    )
    assert error.key.startswith("users[0].claims.roles")


def test_a_toml_date_claim_is_refused_with_its_name(tmp_path: Path) -> None:
    # TOML (and YAML) parse an unquoted 1990-01-01 as a date, which JSON cannot carry.
    path = write(
        tmp_path / "c.toml",
        """
        [[users]]
        username = "a"
        birthdate = 1990-01-01
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "birthdate" in info.value.key
    assert info.value.key.startswith("issuers[0].users[0]")


# --- clients ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("/callback", "is not an absolute URI"),
        ("callback", "is not an absolute URI"),
        ("127.0.0.1:5000/cb", "is not an absolute URI"),
        ("http:///cb", "is not an absolute URI"),
        ("http://127.0.0.1/cb#frag", "must not contain a fragment"),
        ("http://127.0.0.1/cb#", "must not contain a fragment"),
    ],
)
@pytest.mark.parametrize("field", ["redirect_uris", "post_logout_redirect_uris"])
def test_invalid_redirect_uris(field: str, uri: str, fragment: str) -> None:
    error = config_error(ClientConfig, {field: ["http://127.0.0.1/ok", uri]})
    assert error.key == f"{field}[1]"
    assert repr(uri) in error.message
    assert fragment in error.message


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5000/cb",
        "https://app.example.com/cb?tenant=1",
        "com.example.app:/oauth2redirect",
        "http://[::1]/cb",
    ],
)
def test_valid_redirect_uris(uri: str) -> None:
    assert parse(ClientConfig, {"redirect_uris": [uri]}).redirect_uris == (uri,)


def test_public_client_with_a_secret_is_refused() -> None:
    error = config_error(
        ProviderConfig, {"clients": [{"client_id": "spa", "public": True, "client_secret": "s"}]}
    )
    assert error.key == "clients[0].client_secret"
    assert "public" in error.message


def test_public_client_without_a_secret_is_fine() -> None:
    assert parse(ClientConfig, {"public": True, "client_secret": None}).public is True


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            {"public": True, "token_endpoint_auth_method": "client_secret_basic"},
            "token_endpoint_auth_method",
        ),
        ({"public": True, "grant_types": ["client_credentials"]}, "grant_types"),
        ({"client_id": ""}, "client_id"),
        ({"allowed_scopes": ["read", 'bad"scope']}, "allowed_scopes[1]"),
    ],
)
def test_inconsistent_clients_are_refused(data: dict[str, Any], key: str) -> None:
    assert config_error(ClientConfig, data).key == key


def test_duplicate_client_ids_are_refused() -> None:
    error = config_error(
        ProviderConfig,
        {"clients": [{"client_id": "web"}, {"client_id": "spa"}, {"client_id": "web"}]},
    )
    assert error.key == "clients"
    assert "'web'" in error.message


def test_clients_without_ids_are_not_duplicates() -> None:
    config = ProviderConfig.from_mapping({"clients": [{}, {}]})
    assert len(config.clients) == 2


# --- issuers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer_id",
    ["default", "a", "tenant-1", "a.b_c~d", "A" * 64, "a/b", "realms/test", "tenant-1/v2.0"],
)
def test_valid_issuer_ids(issuer_id: str) -> None:
    assert ProviderConfig(issuer_id=issuer_id).issuer_id == issuer_id


@pytest.mark.parametrize(
    "issuer_id",
    ["", "a b", "é", "a?b", "a#b", "A" * 65, "/a", "a/", "a//b", "a/../b", "./a", "a/" * 110 + "a",
     ".well-known", ".well-known/x", "_mockauth", "_mockauth/x"],
)  # fmt: skip
def test_invalid_issuer_ids(issuer_id: str) -> None:
    error = config_error(ProviderConfig, {"issuer_id": issuer_id})
    assert error.key == "issuer_id"


@pytest.mark.parametrize(
    "issuer", ["/relative", "ftp://example.com/x", "http://h/x?a=1", "http://h/x#f", "urn:x"]
)
def test_invalid_issuer_urls(issuer: str) -> None:
    assert config_error(ProviderConfig, {"issuer": issuer}).key == "issuer"


def test_duplicate_issuer_ids_are_refused() -> None:
    error = config_error(ServerConfig, {"issuers": [{"issuer_id": "a"}, {"issuer_id": "a"}]})
    assert error.key == "issuers"
    assert "'a'" in error.message


def test_two_issuers_without_ids_clash_on_the_default_id() -> None:
    assert config_error(ServerConfig, {"issuers": [{}, {}]}).key == "issuers"


def test_a_server_needs_an_issuer() -> None:
    assert config_error(ServerConfig, {"issuers": []}).key == "issuers"


@pytest.mark.parametrize("port", [-1, 65536])
def test_port_bounds(port: int) -> None:
    assert config_error(ServerConfig, {"port": port}).key == "port"


def test_fake_users_must_not_be_negative() -> None:
    assert config_error(ProviderConfig, {"fake_users": -1}).key == "fake_users"


# --- token lifetimes ---------------------------------------------------------------


def test_code_ttl_may_be_up_to_ten_minutes() -> None:
    assert TokenConfig(code_ttl=600).code_ttl == 600
    error = config_error(TokenConfig, {"code_ttl": 601})
    assert error.key == "code_ttl"
    assert "600" in error.message


@pytest.mark.parametrize(
    "field", ["access_token_ttl", "id_token_ttl", "refresh_token_ttl", "code_ttl", "session_ttl"]
)
@pytest.mark.parametrize("value", [0, -1])
def test_lifetimes_must_be_positive(field: str, value: int) -> None:
    error = config_error(ProviderConfig, {"tokens": {field: value}})
    assert error.key == f"tokens.{field}"
    assert str(value) in error.message


# --- shorthand vs. issuers ------------------------------------------------------------


def test_issuer_keys_at_the_top_level_make_one_issuer() -> None:
    server = ServerConfig.from_mapping(
        {"port": 0, "issuer_id": "solo", "seed": 4, "clients": [{"client_id": "c"}]}
    )
    assert server.port == 0
    assert [p.issuer_id for p in server.issuers] == ["solo"]
    assert server.issuers[0].seed == 4
    assert server.issuers[0].clients[0].client_id == "c"


def test_shorthand_and_issuers_list_are_equivalent() -> None:
    issuer = {"issuer_id": "x", "users": [{"username": "u"}]}
    assert ServerConfig.from_mapping(issuer) == ServerConfig.from_mapping({"issuers": [issuer]})


def test_no_issuer_keys_means_one_default_issuer() -> None:
    server = ServerConfig.from_mapping({"host": "127.0.0.1"})
    assert server.issuers == (ProviderConfig(),)


@pytest.mark.parametrize("stray", ["seed", "clients", "tokens"])
def test_mixing_shorthand_with_issuers_names_the_stray_key(stray: str) -> None:
    values: dict[str, Any] = {"seed": 1, "clients": [], "tokens": {}}
    error = config_error(ServerConfig, {"issuers": [{"issuer_id": "a"}], stray: values[stray]})
    assert error.key == stray
    assert "issuers" in error.message


def test_shorthand_errors_are_named_inside_the_issuer() -> None:
    error = config_error(ServerConfig, {"clients": [{"redirect_uris": ["x"]}]})
    assert error.key == "issuers[0].clients[0].redirect_uris[0]"


# --- files ------------------------------------------------------------------------------

TOML = """
port = 0

[[issuers]]
issuer_id = "a"
seed = 7

[[issuers.clients]]
client_id = "web"
client_secret = "web-secret"
redirect_uris = ["http://127.0.0.1:5000/cb"]

[[issuers.users]]
username = "alice"
email = "alice@example.com"

[[issuers]]
issuer_id = "b"

[issuers.tokens]
access_token_ttl = 60
"""

DATA: dict[str, Any] = {
    "port": 0,
    "issuers": [
        {
            "issuer_id": "a",
            "seed": 7,
            "clients": [
                {
                    "client_id": "web",
                    "client_secret": "web-secret",
                    "redirect_uris": ["http://127.0.0.1:5000/cb"],
                }
            ],
            "users": [{"username": "alice", "email": "alice@example.com"}],
        },
        {"issuer_id": "b", "tokens": {"access_token_ttl": 60}},
    ],
}

YAML = """
port: 0
issuers:
  - issuer_id: a
    seed: 7
    clients:
      - client_id: web
        client_secret: web-secret
        redirect_uris: ["http://127.0.0.1:5000/cb"]
    users:
      - username: alice
        email: alice@example.com
  - issuer_id: b
    tokens:
      access_token_ttl: 60
"""


@pytest.fixture
def expected() -> ServerConfig:
    return ServerConfig.from_mapping(DATA)


def test_expected_config_is_what_the_files_say(expected: ServerConfig) -> None:
    assert [p.issuer_id for p in expected.issuers] == ["a", "b"]
    assert expected.issuers[0].users[0].claims == {"email": "alice@example.com"}
    assert expected.issuers[1].tokens.access_token_ttl == 60


def test_load_toml(tmp_path: Path, expected: ServerConfig) -> None:
    assert load_config(write(tmp_path / "c.toml", TOML)) == expected


def test_load_json(tmp_path: Path, expected: ServerConfig) -> None:
    assert load_config(write(tmp_path / "c.json", json.dumps(DATA))) == expected


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_load_yaml(tmp_path: Path, expected: ServerConfig, suffix: str) -> None:
    pytest.importorskip("yaml")
    assert load_config(write(tmp_path / f"c{suffix}", YAML)) == expected


def test_load_accepts_a_string_path(tmp_path: Path, expected: ServerConfig) -> None:
    assert load_config(str(write(tmp_path / "c.toml", TOML))) == expected


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("c.json", '{"seed": 1,}', "invalid JSON"),
        ("c.toml", "seed = = 1\n", "invalid TOML"),
        ("c.yaml", "seed: [1\n", "invalid YAML"),
    ],
)
def test_syntax_errors_name_the_file(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = write(tmp_path / name, text)
    error = load_error(path)
    assert str(error).startswith(f"{path}: {fragment}")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.toml", '[[clients]]\nredirect_uris = ["http://127.0.0.1/cb", "/rel"]\n'),
        ("c.json", '{"clients": [{"redirect_uris": ["http://127.0.0.1/cb", "/rel"]}]}'),
        ("c.yml", "clients:\n  - redirect_uris: [http://127.0.0.1/cb, /rel]\n"),
    ],
)
def test_validation_errors_in_files_name_file_and_key(tmp_path: Path, name: str, text: str) -> None:
    if name.endswith(".yml"):
        pytest.importorskip("yaml")
    path = write(tmp_path / name, text)
    error = load_error(path)
    key = "issuers[0].clients[0].redirect_uris[1]"
    assert error.key == key
    assert str(error).startswith(f"{path}: {key}: ")


def test_mixing_shorthand_and_issuers_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'seed = 1\n[[issuers]]\nissuer_id = "a"\n')
    error = load_error(path)
    assert error.key == "seed"


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "c.ini", "[mockauth]\nseed = 1\n")
    error = load_error(path)
    assert "unknown file type" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    error = load_error(path)
    assert "cannot read" in str(error)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.toml"
    path.mkdir()
    load_error(path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'issuer_id = "caf\xe9"\n')
    load_error(path)


@pytest.mark.parametrize(("name", "text"), [("c.json", "[1, 2]"), ("c.json", '"x"')])
def test_the_top_level_must_be_a_table(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    error = load_error(path)
    assert "top level" in str(error)


@pytest.mark.parametrize("name", ["c.toml", "c.yaml", "c.json"])
def test_an_empty_document_is_the_default_server(tmp_path: Path, name: str) -> None:
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = write(tmp_path / name, "{}" if name.endswith(".json") else "")
    assert load_config(path) == ServerConfig()


def test_provider_config_from_a_single_issuer_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'issuer_id = "solo"\nseed = 9\n')
    config = ProviderConfig.from_file(path)
    assert (config.issuer_id, config.seed) == ("solo", 9)


def test_provider_config_from_a_multi_issuer_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", TOML)
    with pytest.raises(ConfigError) as info:
        ProviderConfig.from_file(path)
    assert info.value.key == "issuers"
    assert "a, b" in info.value.message
    assert info.value.source == str(path)
    assert ProviderConfig.from_file(path, issuer_id="b").tokens.access_token_ttl == 60
    with pytest.raises(ConfigError) as info:
        ProviderConfig.from_file(path, issuer_id="c")
    assert info.value.key == "issuers"
    assert "'c'" in info.value.message


def test_from_mapping_names_its_source() -> None:
    with pytest.raises(ConfigError) as info:
        ProviderConfig.from_mapping({"sede": 1}, source="marker")
    assert str(info.value) == "marker: sede: unknown key; did you mean 'seed'?"


# --- updated() ---------------------------------------------------------------------------


def test_updated_applies_changes_and_leaves_the_original() -> None:
    base = ProviderConfig(seed=1, issuer_id="x")
    changed = base.updated(seed=2, clients=[{"client_id": "c"}])
    assert (changed.seed, changed.issuer_id) == (2, "x")
    assert changed.clients == (ClientConfig(client_id="c"),)
    assert base.seed == 1
    assert base.clients == ()


def test_updated_accepts_config_objects() -> None:
    client = ClientConfig(client_id="c")
    tokens = TokenConfig(code_ttl=30)
    changed = ProviderConfig().updated(clients=[client], tokens=tokens)
    assert changed.clients == (client,)
    assert changed.tokens is tokens


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"seed": "1"}, "seed"),
        ({"sede": 1}, "sede"),
        ({"issuer_id": "a//b"}, "issuer_id"),
        ({"tokens": {"code_ttl": 601}}, "tokens.code_ttl"),
        ({"clients": [{"public": True, "client_secret": "s"}]}, "clients[0].client_secret"),
        ({"clients": [{"client_id": "a"}, {"client_id": "a"}]}, "clients"),
    ],
)
def test_updated_validates(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProviderConfig().updated(**changes)
    assert info.value.key == key


# --- the Provider's use of the config -------------------------------------------------------


def test_provider_keyword_overrides_apply_over_a_config() -> None:
    provider = Provider(ProviderConfig(seed=1, issuer_id="x"), seed=2)
    assert (provider.config.seed, provider.config.issuer_id) == (2, "x")


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"seed": "x"}, "seed"),
        ({"isuer_id": "x"}, "isuer_id"),
        ({"clients": [{"redirect_uris": ["/cb"]}]}, "clients[0].redirect_uris[0]"),
        ({"tokens": {"signing_alg": "none"}}, "tokens.signing_alg"),
    ],
)
def test_provider_overrides_are_validated(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Provider(**overrides)
    assert info.value.key == key


def test_provider_registers_configured_clients_and_users() -> None:
    provider = Provider(
        clients=[{"client_id": "web", "client_secret": "s"}],
        users=[{"username": "alice", "email": "alice@example.com"}],
        fake_users=2,
    )
    assert provider.client("web").client_secret == "s"
    assert provider.user("alice@example.com").username == "alice"
    assert len(provider.users) == 3


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"redirect_uris": ["http://127.0.0.1/cb", "relative"]}, "redirect_uris[1]"),
        ({"redirect_uris": ["http://127.0.0.1/cb#x"]}, "redirect_uris[0]"),
        ({"public": True, "client_secret": "s"}, "client_secret"),
        ({"grant_types": ["implicit"]}, "grant_types[0]"),
        ({"redirect_uri": ["http://127.0.0.1/cb"]}, "redirect_uri"),
        ({"public": "yes"}, "public"),
    ],
)
def test_add_client_names_the_bad_field(fields: dict[str, Any], key: str) -> None:
    provider = Provider()
    with pytest.raises(ConfigError) as info:
        provider.add_client(**fields)
    assert info.value.key == key
    assert provider.clients == []


def test_add_client_fields_override_a_client_config() -> None:
    client = Provider().add_client(ClientConfig(client_id="a", name="A"), name="B")
    assert (client.client_id, client.name) == ("a", "B")
    with pytest.raises(ConfigError) as info:
        Provider().add_client(ClientConfig(client_id="a"), public=True, client_secret="s")
    assert info.value.key == "client_secret"


@pytest.mark.parametrize(
    ("username", "fields", "key"),
    [
        ("a", {"passwd": "x"}, "passwd"),
        ("a", {"emial": "a@x.test"}, "emial"),
        ("a", {"claims": {"sub": "x"}}, "claims.sub"),
        ("a", {"password": 5}, "password"),
        ("", {}, "username"),
        (None, {"sub": ""}, "sub"),
    ],
)
def test_add_user_names_the_bad_field(
    username: str | None, fields: dict[str, Any], key: str
) -> None:
    provider = Provider()
    with pytest.raises(ConfigError) as info:
        provider.add_user(username, **fields)
    assert info.value.key == key
    assert provider.users == []


def test_add_user_accepts_standard_claims_as_keywords() -> None:
    user = Provider().add_user("alice", email="alice@example.com", claims={"roles": ["admin"]})
    assert user.claims == {"email": "alice@example.com", "roles": ["admin"]}


# --- determinism under a seed -------------------------------------------------------------


def identities(provider: Provider, n: int = 3) -> list[tuple[Any, ...]]:
    users = [provider.add_user() for _ in range(n)]
    return [(u.sub, u.username, u.password, dict(u.claims)) for u in users]


def test_generated_users_are_deterministic_under_a_seed() -> None:
    first = identities(Provider(seed=5))
    assert first == identities(Provider(seed=5))
    assert len({sub for sub, *_ in first}) == 3
    assert len({name for _, name, *_ in first}) == 3


def test_a_different_seed_generates_different_users() -> None:
    five, six = identities(Provider(seed=5)), identities(Provider(seed=6))
    assert {u[0] for u in five}.isdisjoint({u[0] for u in six})
    assert [u[1] for u in five] != [u[1] for u in six]


def test_generated_users_look_like_people() -> None:
    user = Provider(seed=1).add_user()
    assert user.password
    assert user.claims["email"] == f"{user.username}@example.com"
    assert user.claims["name"] == f"{user.claims['given_name']} {user.claims['family_name']}"


def test_given_fields_of_a_generated_user_are_kept() -> None:
    user = Provider(seed=1).add_user(sub="fixed-sub", password="pw", claims={"roles": ["r"]})
    assert (user.sub, user.password, user.claims["roles"]) == ("fixed-sub", "pw", ["r"])


def test_fake_users_from_config_are_deterministic() -> None:
    def names(seed: int) -> list[str]:
        return [u.username for u in Provider(seed=seed, fake_users=4).users]

    assert names(11) == names(11)
    assert len(set(names(11))) == 4
    assert names(11) != names(12)


def test_generated_users_are_the_same_in_another_process() -> None:
    code = (
        "from mockauth import Provider; u = Provider(seed=5).add_user(); print(u.sub, u.username)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    user = Provider(seed=5).add_user()
    assert result.stdout.split() == [user.sub, user.username]


def credentials(provider: Provider, n: int = 3) -> list[tuple[str, str | None]]:
    clients = [provider.add_client() for _ in range(n)]
    return [(c.client_id, c.client_secret) for c in clients]


def test_generated_client_ids_and_secrets_are_deterministic_under_a_seed() -> None:
    first = credentials(Provider(seed=5))
    assert first == credentials(Provider(seed=5))
    assert len({cid for cid, _ in first}) == 3
    assert all(secret for _, secret in first)
    other = credentials(Provider(seed=6))
    assert {cid for cid, _ in first}.isdisjoint({cid for cid, _ in other})
    assert {s for _, s in first}.isdisjoint({s for _, s in other})


def test_a_public_client_gets_no_secret() -> None:
    client = Provider(seed=5).add_client(public=True)
    assert client.client_id
    assert client.client_secret is None


def test_construction_is_cheap() -> None:
    """Provider() neither generates keys nor imports faker; first use does."""
    code = textwrap.dedent(
        """
        import sys
        from mockauth import Provider
        from mockauth import keys
        provider = Provider(seed=3, clients=[{"client_id": "c"}], users=[{"username": "u"}])
        provider.add_client()
        print("faker" in sys.modules, len(keys._cache))
        provider.add_user()
        print("faker" in sys.modules, len(keys._cache))
        provider.jwks()
        print("faker" in sys.modules, len(keys._cache))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split("\n")[:3] == ["False 0", "True 0", "True 1"]


# --- the example configs under fixtures/ ----------------------------------------------------

EXAMPLES = sorted(
    path for pattern in ("*.toml", "*.json", "*.yaml", "*.yml") for path in FIXTURES.glob(pattern)
)


def test_there_are_example_configs() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_configs_load(path: Path) -> None:
    server = load_config(path)
    assert server.issuers
    for issuer in server.issuers:
        provider = Provider(issuer)
        assert provider.issuer_id == issuer.issuer_id
        assert provider.metadata()["issuer"] == provider.issuer


def test_typed_constructors_refuse_plain_data_with_a_pointer_to_from_mapping() -> None:
    with pytest.raises(ConfigError, match=r"clients\[0\]: expected a ClientConfig.*from_mapping"):
        ProviderConfig(clients=({"client_id": "x"},))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"users\[0\]: expected a UserConfig"):
        ProviderConfig(users=({"username": "alice"},))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tokens: expected a TokenConfig"):
        ProviderConfig(tokens={"signing_alg": "ES256"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"issuers\[0\]: expected a ProviderConfig"):
        ServerConfig(issuers=({"issuer_id": "a"},))  # type: ignore[arg-type]


def test_discovery_needs_no_jose_library() -> None:
    """`mockauth serve` starts and answers discovery before PyJWT and cryptography load
    (they cost a large part of the cold start); the first key loads them.
    """
    code = textwrap.dedent(
        """
        import sys
        from mockauth import Provider
        from mockauth.cli import demo_config
        providers = [Provider(issuer) for issuer in demo_config().issuers]
        with providers[0].httpx_client() as http:
            assert http.get(providers[0].endpoint("discovery")).status_code == 200
        print("jwt" in sys.modules, "cryptography" in sys.modules)
        providers[0].jwks()
        print("jwt" in sys.modules, "cryptography" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False", "True", "True"]
