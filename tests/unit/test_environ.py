"""common.environ.overridden: values set for the block, the previous environment back afterwards."""

from __future__ import annotations

import os

import pytest

from common.environ import overridden


def test_values_set_inside_and_restored_or_removed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CF_TEST_KEPT", "before")
    monkeypatch.delenv("CF_TEST_NEW", raising=False)
    with overridden({"CF_TEST_KEPT": "inside", "CF_TEST_NEW": "x"}):
        assert os.environ["CF_TEST_KEPT"] == "inside"
        assert os.environ["CF_TEST_NEW"] == "x"
    assert os.environ["CF_TEST_KEPT"] == "before"
    assert "CF_TEST_NEW" not in os.environ


def test_restored_when_the_block_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CF_TEST_NEW", raising=False)
    with pytest.raises(RuntimeError), overridden({"CF_TEST_NEW": "x"}):
        raise RuntimeError("boom")
    assert "CF_TEST_NEW" not in os.environ
