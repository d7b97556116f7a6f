import json

from training import outputs

MEMBERS = ["cnn.pt", "cnn_metrics.json", "cnn_curves.png"]


def previous_set(out):
    out.mkdir()
    for name in MEMBERS:
        (out / name).write_text(f"old {name}")
    (out / "mlp.pt").write_text("another network's file")


def leftovers(out):
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def test_commit_replaces_the_whole_set_and_leaves_nothing_else(tmp_path):
    out = tmp_path / "out"
    previous_set(out)
    folder = outputs.stage(out, "cnn")
    (folder / "cnn.pt").write_text("new weights")
    (folder / "cnn_metrics.json").write_text("new metrics")  # this run made no plots
    outputs.commit(out, "cnn", MEMBERS)
    assert (out / "cnn.pt").read_text() == "new weights" and (out / "cnn_metrics.json").read_text() == "new metrics"
    assert not (out / "cnn_curves.png").exists()  # an older run's plot never sits beside new weights
    assert (out / "mlp.pt").read_text() == "another network's file"
    assert leftovers(out) == []


def test_a_run_killed_after_its_journal_is_completed_by_the_next(tmp_path):
    out = tmp_path / "out"
    previous_set(out)
    folder = outputs.stage(out, "cnn")
    for name in MEMBERS:
        (folder / name).write_text(f"new {name}")
    # What a kill in the middle of commit() leaves: the journal, one file moved in, two still staged.
    outputs.journal(out, "cnn").write_text(json.dumps({"install": MEMBERS, "remove": []}))
    (folder / "cnn.pt").replace(out / "cnn.pt")
    outputs.recover(out, "cnn")
    assert [(out / name).read_text() for name in MEMBERS] == [f"new {name}" for name in MEMBERS]
    assert leftovers(out) == []


def test_a_run_killed_before_its_journal_is_undone_and_its_temporaries_swept(tmp_path):
    out = tmp_path / "out"
    previous_set(out)
    folder = outputs.stage(out, "cnn")
    (folder / "cnn.pt").write_text("half a run")
    (out / ".cnn.pt.k2j4.tmp").write_bytes(b"")  # what an atomic write killed by SIGKILL leaves
    (out / ".cnn.journal.tmp").write_text("{")
    (out / ".mlp.pt.x1.tmp").write_bytes(b"")  # another network's run may be writing that one now
    outputs.recover(out, "cnn")
    assert [(out / name).read_text() for name in MEMBERS] == [f"old {name}" for name in MEMBERS]
    assert leftovers(out) == [".mlp.pt.x1.tmp"]
