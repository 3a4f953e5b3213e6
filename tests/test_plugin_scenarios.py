"""Fixture strictness for scenario rules, in inner pytest sessions run by ``pytester``.

Each inner session runs a selection of the cases in ``INNER`` in a subprocess
(the plugin keeps per-process state, the session server); each case is then
checked in its own section of the report.
"""

from __future__ import annotations

import re

import pytest

TIMEOUT = 120

INNER = """
import httpx
import pytest

from mockauth.faults import Fault
from mockauth.scenarios import Rule


@pytest.fixture
def svc(mockauth):
    mockauth.add_client(
        client_id="svc", client_secret="svc-secret", grant_types=["client_credentials"]
    )
    return mockauth


def token(provider):
    data = {"grant_type": "client_credentials"}
    return httpx.post(provider.endpoint("token"), data=data, auth=("svc", "svc-secret"))


class Broken(Fault):
    def respond(self, exchange):
        raise RuntimeError("boom in the server thread")


def test_unused_times(svc):
    svc.fail("token", grant_type="refresh_token", error="invalid_grant", times=1,
             name="refresh fails")
    assert token(svc).status_code == 200


def test_partly_used_sequence(svc):
    svc.fail("token", sequence=[503, 503, "real"])
    assert token(svc).status_code == 503


def test_two_unused_rules(svc):
    svc.fail("jwks", status=503, times=2)
    svc.fail("userinfo", error="invalid_token", after=1, times=1)


def test_explicitly_strict_always_rule(svc):
    svc.fail("jwks", status=503, strict=True)


def test_fails_on_its_own(svc):
    svc.fail("token", error="invalid_grant", times=2)
    token(svc)
    assert False, "the test's own failure"


def test_not_strict(svc):
    svc.fail("token", error="invalid_grant", times=2, strict=False)
    svc.fail("token", sequence=[503], strict=False)


def test_always_is_not_strict(svc):
    svc.fail("token", status=503)
    svc.fail("jwks", delay=0.01, after=3)


def test_used_as_expected(svc):
    svc.fail("token", sequence=[503, "real"])
    svc.fail("jwks", error="server_error", times=1)
    assert [token(svc).status_code for _ in range(3)] == [503, 200, 200]
    assert httpx.get(svc.endpoint("jwks")).status_code == 500


def test_removed_rules_are_not_checked(svc):
    rule = svc.fail("token", status=503, times=1)
    svc.remove_rule(rule)
    svc.fail("jwks", status=503, times=1)
    svc.clear_rules()


def test_server_error_is_reraised(svc):
    svc.add_rule(Rule("jwks", Broken()))
    assert httpx.get(svc.endpoint("jwks")).status_code == 500


def test_server_error_after_own_failure(svc):
    svc.add_rule(Rule("jwks", Broken()))
    httpx.get(svc.endpoint("jwks"))
    assert False, "failed with a server error behind it"
"""

#: Plugins the inner sessions do not need; they take most of a session's start-up.
QUICK = ("-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:xdist")
_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")


def run_inner(pytester: pytest.Pytester, *names: str) -> tuple[pytest.RunResult, dict[str, str]]:
    """Run the named tests of ``INNER`` in a subprocess session with the plugin
    auto-loaded; returns the result and its report as {section title: text}.
    """
    pytester.makepyfile(test_inner=INNER)
    selected = " or ".join(names)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *QUICK, "-rfE", "-k", selected, timeout=TIMEOUT
    )
    sections: dict[str, list[str]] = {"summary": []}
    current = "summary"
    for line in result.outlines:
        found = _HEADER.match(line)
        if found:
            current = found.group(1)
            sections.setdefault(current, [])
        else:
            sections[current].append(line)
    return result, {title: "\n".join(lines) for title, lines in sections.items()}


def test_unused_rules_and_server_errors_fail_a_passing_test_at_teardown(
    pytester: pytest.Pytester,
) -> None:
    failing = (
        "test_unused_times",
        "test_partly_used_sequence",
        "test_two_unused_rules",
        "test_explicitly_strict_always_rule",
        "test_server_error_is_reraised",
    )
    result, report = run_inner(pytester, *failing)
    result.assert_outcomes(passed=5, errors=5)  # each call passed; each teardown failed
    for name in failing:
        assert f"ERROR at teardown of {name}" in report

    text = report["ERROR at teardown of test_unused_times"]
    assert "UnusedRuleError: scenario rules were not used as expected:" in text
    assert (
        "rule 1 'refresh fails': (endpoint='token', grant_type='refresh_token') -> "
        "error invalid_grant (times=1): expected 1 matching request(s), got 0." in text
    )
    assert "Calls received (closest first):" in text
    assert "POST token grant_type=client_credentials client_id=svc -> 200" in text
    assert "grant_type is 'client_credentials', not 'refresh_token'" in text

    text = report["ERROR at teardown of test_partly_used_sequence"]
    assert (
        "rule 1: (endpoint='token') -> sequence [HTTP 503, HTTP 503, real]: "
        "expected 3 matching request(s), got 1." in text
    )
    assert "POST token grant_type=client_credentials client_id=svc -> 503" in text
    assert "[scripted by rule 1]" in text

    text = report["ERROR at teardown of test_two_unused_rules"]
    assert "rule 1: (endpoint='jwks') -> HTTP 503 (times=2): expected 2 matching" in text
    assert (
        "rule 2: (endpoint='userinfo') -> error invalid_token (times=1, after=1): "
        "expected 1 matching request(s) after the first 1, got 0." in text
    )
    assert "The provider received no requests." in text

    text = report["ERROR at teardown of test_explicitly_strict_always_rule"]
    assert "expected at least 1 matching request(s), got 0." in text

    # Errors raised in the server thread are re-raised in the test.
    text = report["ERROR at teardown of test_server_error_is_reraised"]
    assert "ServerThreadError: the provider failed while handling a request:" in text
    assert "RuntimeError: boom in the server thread" in text


def test_rules_not_strict_or_used_as_expected_pass(pytester: pytest.Pytester) -> None:
    result, _ = run_inner(
        pytester,
        "test_not_strict",
        "test_always_is_not_strict",
        "test_used_as_expected",
        "test_removed_rules_are_not_checked",
    )
    result.assert_outcomes(passed=4)
    assert "UnusedRuleError" not in "\n".join(result.outlines)


def test_a_failing_test_reports_only_its_own_failure(pytester: pytest.Pytester) -> None:
    result, report = run_inner(
        pytester, "test_fails_on_its_own", "test_server_error_after_own_failure"
    )
    result.assert_outcomes(failed=2)
    text = report["test_fails_on_its_own"]
    assert "the test's own failure" in text
    assert "UnusedRuleError" not in text
    text = report["test_server_error_after_own_failure"]
    assert "failed with a server error behind it" in text
    assert "ServerThreadError" not in text
    assert not any(title.startswith("ERROR at teardown") for title in report)
