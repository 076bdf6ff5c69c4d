"""The catalogue is read strictly: a broken assignments.toml names the table and key."""

from __future__ import annotations

import pytest

from grader.catalogue import load_catalogue
from grader.errors import ConfigError, GraderError


def test_every_spec_exercise_and_lab_is_in_the_catalogue(catalogue):
    assert [e.id for e in catalogue] == [
        "exercise1", "exercise2", "exercise3", "exercise4", "exercise5", "exercise6", "exercise7",
        "lab_mnist", "lab_fashion", "lab_cifar10", "lab_cifar100",
    ]
    targets = {e.id: (e.target_accuracy, e.floor_accuracy) for e in catalogue if e.is_lab}
    assert targets == {"lab_mnist": (0.99, 0.97), "lab_fashion": (0.91, 0.88),
                       "lab_cifar10": (0.78, 0.60), "lab_cifar100": (0.45, 0.30)}


def test_points_equal_the_sum_of_the_checks(catalogue):
    for exercise in catalogue:
        if exercise.implemented:
            assert exercise.checklist().total_points == exercise.points


@pytest.mark.parametrize(("text", "message"), [
    ("[exercise1]\ntitle='x'\nfile='a.py'\n", "needs points"),
    ("[defaults]\nbogus=1\n", "unknown keys"),
    ("[exercise1]\ntitle='x'\nfile='a.py'\npoints=0\ntime_limit_s=1\ncall_timeout_s=1\nmemory_mb=1\n"
     "file_size_mb=1\noutput_kb=1\n", "points must be a positive number"),
    ("[lab]\ntitle='x'\nfolder='l'\npoints=1\ntime_limit_s=1\ncall_timeout_s=1\nmemory_mb=1\n"
     "file_size_mb=1\noutput_kb=1\ntarget_accuracy=0.5\nfloor_accuracy=0.9\n", "floor_accuracy <= target"),
    ("not toml [", "cannot read"),
])
def test_broken_catalogues_are_config_errors(tmp_path, text, message):
    path = tmp_path / "assignments.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_catalogue(path)


def test_unknown_exercise_suggests_a_close_match(catalogue):
    with pytest.raises(GraderError, match="Did you mean 'exercise2'"):
        catalogue.get("exercise22")


def test_a_labs_dataset_is_read_and_must_match_its_checks(tmp_path, catalogue):
    text = catalogue.path.read_text(encoding="utf-8")
    assert text.count('dataset = "cifar100"') == 1
    path = tmp_path / "assignments.toml"
    path.write_text(text.replace('dataset = "cifar100"', 'dataset = "cifar10"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="lab_cifar100 declares dataset = 'cifar10' but its checks grade on 'cifar100'"):
        load_catalogue(path).get("lab_cifar100").checklist()
