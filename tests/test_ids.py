"""mockauth.ids: unique identifiers (jti, grant ids) without a system call each."""

from __future__ import annotations

import os
import re

from mockauth import Provider
from mockauth.ids import unique_hex


def test_ids_are_32_hex_digits_and_unique() -> None:
    ids = {unique_hex() for _ in range(20_000)}
    assert len(ids) == 20_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out at once
        os.write(write, unique_hex().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child != unique_hex()


def test_every_token_has_its_own_jti() -> None:
    provider = Provider()
    jtis = {provider.tokens.decode(provider.issue_token("alice"))["jti"] for _ in range(50)}
    assert len(jtis) == 50
