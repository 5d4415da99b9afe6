"""The owner module: what it marks, what it deletes or replaces, and what it refuses."""

from __future__ import annotations

import json

import pytest

from calibprune.errors import OptionError
from calibprune.files import owner
from calibprune.files.atomic import atomic_folder, write_json, write_text
from calibprune.files.lock import hold_lock, lock_file


@pytest.fixture(autouse=True)
def fresh_run():
    """Each test is a run of its own (an empty ledger), as each command is."""
    owner.new_run()
    yield
    owner.new_run()


def test_a_folder_it_made_is_marked_and_removable_by_a_later_run(tmp_path):
    folder = owner.make_folder(tmp_path / "a" / "b", "output_dir", kind="study")
    assert owner.marker(folder)["calibprune"] == "study"
    owner.new_run()  # a later run: only the mark says it is calibprune's
    owner.remove(folder, "output_dir", "study")
    assert not folder.exists()


def test_an_unmarked_folder_is_refused_and_kept(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("years of work")
    with pytest.raises(OptionError, match=r"^save_model: '.*thesis' was not made by calibprune"):
        owner.remove(tmp_path / "thesis", "save_model", "workdir")
    assert (tmp_path / "thesis" / "thesis.tex").read_text() == "years of work"


def test_a_mark_of_another_kind_is_refused(tmp_path):
    folder = owner.make_folder(tmp_path / "model", "save_model", kind="model")
    owner.new_run()
    with pytest.raises(OptionError):
        owner.remove(folder, "save_model", "workdir")


def test_abandon_removes_scratch_and_the_parents_it_created_and_nothing_else(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "mine.txt").write_text("keep")
    run = owner.make_folder(tmp_path / "runs" / "prune" / "today", "log_dir", kind="run", scratch=True)
    (run / "events").write_text("x")
    owner.abandon()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["mine.txt"]


def test_a_foreign_file_is_never_replaced(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(OptionError, match="exists and was not written by calibprune"):
        write_json(tmp_path / "config.json", {"schema": 1}, "output", signature=lambda path: False)
    assert json.loads((tmp_path / "config.json").read_text()) == {"model_type": "llama"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no temp file left


def test_a_file_in_a_marked_folder_or_recognised_is_replaced(tmp_path):
    folder = owner.make_folder(tmp_path / "run", "log_dir", kind="run")
    (folder / "results.json").write_text("old")
    owner.new_run()
    write_text(folder / "results.json", "new", "output", folder_kinds=("run",))
    assert (folder / "results.json").read_text() == "new"
    (tmp_path / "mine.json").write_text("ours")
    write_text(tmp_path / "mine.json", "replaced", "output", signature=lambda path: path.read_text() == "ours")
    assert (tmp_path / "mine.json").read_text() == "replaced"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    folder = owner.make_folder(tmp_path / "run", "log_dir", kind="run")
    (folder / "results.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "model", "save_model", "model"):
        raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_replaces_only_a_model_folder_holding_nothing_but_what_was_saved(tmp_path):
    target = tmp_path / "out"
    with atomic_folder(target, "save_model", "model") as tmp:
        (tmp / "config.json").write_text("{}")
    owner.new_run()
    with pytest.raises(OptionError, match="already exists; pass --overwrite true"):
        with atomic_folder(target, "save_model", "model"):
            pass
    (target / "tokenizer_notes.md").write_text("mine")
    with pytest.raises(OptionError, match=r"is not a model saved by calibprune \(tokenizer_notes.md\)"):
        with atomic_folder(target, "save_model", "model", overwrite=True):
            pass
    (target / "tokenizer_notes.md").unlink()
    with atomic_folder(target, "save_model", "model", overwrite=True) as tmp:
        (tmp / "config.json").write_text('{"new": 1}')
    assert (target / "config.json").read_text() == '{"new": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_lock_name_holding_a_users_file_is_refused(tmp_path):
    lock_file(tmp_path / "out").write_text("my notes")
    with pytest.raises(OptionError, match="was not written by calibprune"), hold_lock(tmp_path / "out", "save_model"):
        pass
    assert lock_file(tmp_path / "out").read_text() == "my notes"


def test_a_lock_is_removed_after_the_run_and_stale_marked_temps_with_it(tmp_path):
    stale = owner.make_folder(owner.temp_name(tmp_path / "out"), "save_model", kind="temp")
    backup = tmp_path / ".out.tmp-mybackup"
    backup.mkdir()
    owner.new_run()
    with hold_lock(tmp_path / "out", "save_model"):
        assert lock_file(tmp_path / "out").read_text().startswith("calibprune pid ")
    assert not stale.exists() and backup.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.tmp-mybackup"]


def test_a_name_too_long_is_refused_before_anything_is_made(tmp_path):
    with pytest.raises(OptionError, match="has a name too long"):
        owner.check_can_create(tmp_path / ("x" * 300), "save_model", "a shorter name")


def test_a_failed_run_keeps_a_saved_model_in_a_folder_it_created(tmp_path):
    """A later failure of the run (writing its results, say) never takes a finished model with it."""
    with atomic_folder(tmp_path / "new" / "out", "save_model", "model") as tmp:
        (tmp / "config.json").write_text("{}")
    owner.abandon()
    assert (tmp_path / "new" / "out" / "config.json").read_text() == "{}"
