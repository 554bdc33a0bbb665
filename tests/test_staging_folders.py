"""Run-scoped staging folders: one per run id, always a direct child of the DAG's staging root."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from binance_airflow.etl.run_folder import run_dir
from include import settings as etl_settings

ROOT = etl_settings.STAGING_ROOT / "binance_etl"


def test_dot_run_ids_never_collapse_to_the_staging_root_or_its_parent():
    for run_id in (".", "..", "./x", "../..", "/", ""):
        folder = run_dir(run_id)
        assert folder.parent == ROOT and folder.name not in ("", ".", "..")


def test_run_ids_differing_only_in_unsafe_characters_get_different_folders():
    stamp = "manual__2024-05-01T00:00:00"
    ids = [
        f"{stamp}+00:00",
        f"{stamp}~00:00",
        f"{stamp}_00:00",
        "manual__2024-05-01T00_00_00+00_00",
        "a b",
        "a_b",
        "a%20b",
        "a%b",
    ]
    assert len({run_dir(run_id) for run_id in ids}) == len(ids)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=300), st.text(min_size=0, max_size=300))
def test_distinct_run_ids_always_get_distinct_safe_folders(first: str, second: str):
    a, b = run_dir(first), run_dir(second)
    for folder in (a, b):
        assert folder.parent == ROOT
        assert folder.name not in ("", ".", "..") and "/" not in folder.name and "\0" not in folder.name
        assert len(folder.name.encode()) <= 255
    assert (a == b) == (first == second)
