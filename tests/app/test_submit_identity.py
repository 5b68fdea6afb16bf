"""Who submits: the Hugging Face login in a Space (Gradio's real OAuthProfile), the explicit operator locally."""

from __future__ import annotations

import gradio as gr
import pytest

from rclicks.errors import RClicksError
from rclicks_app.tabs.submit import submitter_identity


def _profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile({"preferred_username": username, "name": username.title(), "profile": "", "picture": ""})


def test_the_login_is_the_identity_whatever_the_operator_says(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "rclicks/leaderboard")
    monkeypatch.setenv("RCLICKS_OPERATOR", "mallory")
    for _ in range(2):
        assert submitter_identity(_profile("alice")) == "alice"


def test_a_space_without_login_refuses_by_name(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "rclicks/leaderboard")
    monkeypatch.setenv("RCLICKS_OPERATOR", "mallory")  # an operator setting never stands in for a visitor's login
    with pytest.raises(RClicksError, match="log in with your Hugging Face account"):
        submitter_identity(None)


def test_locally_the_explicit_operator_submits(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("RCLICKS_OPERATOR", "  ops-team ")
    assert submitter_identity(None) == "ops-team"
    monkeypatch.delenv("RCLICKS_OPERATOR")
    with pytest.raises(RClicksError, match="RCLICKS_OPERATOR"):
        submitter_identity(None)
