"""On Gradescope the judge runs as root and the sandbox as an unprivileged user ($CVLAB_SANDBOX_USER).

The end-to-end drop needs an interpreter that user may run (Gradescope's
system Python); here the interpreter lives under /root, so these tests check
the mechanism itself: which user, the scratch folder handed over, and one
sentence for a user that does not exist.
"""

import os
from types import SimpleNamespace

import pytest

from cvlab_ch9.grader.isolation import SANDBOX_USER_ENV
from cvlab_ch9.grader.sandbox import Sandbox, SandboxFailure

pwd = pytest.importorskip("pwd", reason="user accounts are POSIX")  # Windows has no such drop


def test_as_root_the_sandbox_runs_as_the_named_user_and_owns_its_scratch_folder(tmp_path, monkeypatch):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "segmentation.py").write_text("x = 1\n")
    chowned = []
    monkeypatch.setenv(SANDBOX_USER_ENV, "nobody")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: chowned.append((str(path), uid, gid)))
    nobody = pwd.getpwnam("nobody")
    arguments = Sandbox._unprivileged_user(SimpleNamespace(scratch=tmp_path))
    assert arguments == {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    assert {path for path, _, _ in chowned} == {str(tmp_path), str(tmp_path / "submission"),
                                                 str(tmp_path / "submission" / "segmentation.py")}
    assert {(uid, gid) for _, uid, gid in chowned} == {(nobody.pw_uid, nobody.pw_gid)}


def test_without_root_or_without_the_variable_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.delenv(SANDBOX_USER_ENV, raising=False)
    assert Sandbox._unprivileged_user(SimpleNamespace(scratch=tmp_path)) == {}
    monkeypatch.setenv(SANDBOX_USER_ENV, "nobody")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert Sandbox._unprivileged_user(SimpleNamespace(scratch=tmp_path)) == {}


def test_an_unknown_user_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv(SANDBOX_USER_ENV, "no-such-user-here")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(SandboxFailure, match="names no user on this machine"):
        Sandbox._unprivileged_user(SimpleNamespace(scratch=tmp_path))
