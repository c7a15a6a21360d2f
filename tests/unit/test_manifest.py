"""The manifest schema: the real course validates; every kind of mistake is
reported with the file, the field (sessions named by id) and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import course_hub
from course_hub.hub.gateway import cluster_options
from course_hub.manifest import ManifestError, load_manifest

REPO = Path(__file__).resolve().parents[2]

PROGRAM = [
    ("Big Data & Distributed Computing", "3h"),
    ("Deployment & Intro to Kubernetes", "3h"),
    ("Kubernetes hands on", "3h"),
    ("Python Dataprocessing and Spark hands on", "3h"),
    ("Distributed Processing and Dask hands on", "3h"),
    ("Evaluation: DaskHub, Dask preprocess, ML training", "3h"),
]


def test_the_wheel_ships_no_course():
    """Students' servers install the wheel: no teacher's notebook may be in it."""
    package = Path(course_hub.__file__).parent
    assert not list(package.rglob("course.yml")), "the installed package holds a course"
    assert not list(package.rglob("*.ipynb")), "the installed package holds notebooks"


def test_the_course_follows_the_program():
    root = REPO / "course"
    manifest = load_manifest(root / "course.yml", root)
    assert [(s.title, s.duration) for s in manifest.sessions] == PROGRAM
    assert manifest.sessions[-1].self_paced
    hands_on = [s for s in manifest.sessions if "hands on" in s.title or "Evaluation" in s.title]
    assert len(hands_on) == 4
    assert all(s.notebooks and s.main_notebook for s in hands_on)
    assert manifest.session("dask").cluster.workers == 2
    options = cluster_options(manifest)
    assert [f.field for f in options.fields] == ["session", "worker_cores", "worker_memory"]
    assert list(options.fields[0].options) == ["custom", "kubernetes", "dask", "evaluation"]


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def base() -> dict:
    return {
        "course": {"id": "c", "title": "C"},
        "sessions": [
            {
                "id": "spark",
                "title": "Spark",
                "duration": "3h",
                "notebooks": [{"path": "wc.ipynb", "title": "WC"}],
            }
        ],
    }


def problems(tmp_path: Path, data: dict, content_root: Path | None = None) -> str:
    path = write(tmp_path, data)
    with pytest.raises(ManifestError) as info:
        load_manifest(path, content_root)
    assert str(path) in info.value.message
    assert info.value.status == 503
    return info.value.message


def test_valid_minimal(tmp_path):
    manifest = load_manifest(write(tmp_path, base()))
    session = manifest.session("spark")
    assert session.duration_minutes == 180
    assert session.main_notebook.path == "wc.ipynb"  # first one when none is marked
    assert session.source_folder == "spark"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["sessions"][0].update(duration="three hours"), "duration must look like"),
        (
            lambda d: d["sessions"][0].update(colour="blue"),
            "colour: Extra inputs are not permitted",
        ),
        (lambda d: d["sessions"][0].update(id="Spark Session"), ".id: String should match"),
        (
            lambda d: d["sessions"].append(dict(d["sessions"][0])),
            "session ids listed twice: spark",
        ),
        (
            lambda d: d["sessions"][0]["notebooks"][0].update(path="../../etc/passwd"),
            "notebooks[0].path: path must stay inside the session folder",
        ),
        (
            lambda d: d["sessions"][0]["notebooks"][0].update(path="/etc/passwd"),
            "must stay inside the session folder",
        ),
        (
            lambda d: (
                d["sessions"][0]["notebooks"].append(
                    {"path": "b.ipynb", "title": "B", "main": True}
                )
                or d["sessions"][0]["notebooks"][0].update(main=True)
            ),
            "at most one notebook may be marked main",
        ),
        (
            lambda d: d["sessions"][0].update(cluster={"workers": -1}),
            "cluster.workers: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["sessions"][0].update(cluster={"adaptive": {"minimum": 5, "maximum": 2}}),
            "adaptive.minimum must not exceed adaptive.maximum",
        ),
        (
            lambda d: d["sessions"][0].update(
                quiz=[{"question": "Q?", "choices": {"A": "a", "B": "b"}, "answer": "C"}]
            ),
            "answer 'C' is not one of the choices",
        ),
        (lambda d: d.pop("course"), "course: Field required"),
    ],
)
def test_each_mistake_is_named(tmp_path, change, expected):
    data = base()
    change(data)
    message = problems(tmp_path, data)
    assert expected in message
    if "sessions[0]" in message:
        assert "sessions[0] (id 'spark')" in message or "(id 'Spark Session')" in message


def test_all_problems_at_once(tmp_path):
    data = base()
    data["sessions"][0]["duration"] = "soon"
    data["sessions"][0]["cluster"] = {"worker_cores": 0}
    message = problems(tmp_path, data)
    assert "duration" in message and "worker_cores" in message


def test_missing_notebook_file(tmp_path):
    message = problems(tmp_path, base(), content_root=tmp_path)
    assert "sessions[0] (id 'spark').notebooks[0].path: spark/wc.ipynb" in message or (
        "folder: 'spark' does not exist" in message
    )
    (tmp_path / "spark").mkdir()
    message = problems(tmp_path, base(), content_root=tmp_path)
    assert "spark/wc.ipynb is not a file in the course content" in message


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = tmp_path / "course.yml"
    path.write_text("course:\n  id: c\n  title: [unclosed\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert "line" in info.value.message and "not valid YAML" in info.value.message


def test_unreadable_and_not_a_mapping(tmp_path):
    with pytest.raises(ManifestError, match="cannot be read"):
        load_manifest(tmp_path / "nope.yml")
    path = tmp_path / "course.yml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ManifestError, match="must be a mapping"):
        load_manifest(path)


def test_presets_must_fit_the_gateway_limits(tmp_path):
    data = base()
    data["sessions"][0]["cluster"] = {"worker_cores": 8}
    manifest = load_manifest(write(tmp_path, data))
    with pytest.raises(ValueError, match="session 'spark': worker_cores=8 is outside"):
        cluster_options(manifest, max_cores=4)
