"""Fixtures: packs written by the CLI into temporary directories from the
shared test data ($MLXPACK_TEST_DATA, default ../shared beside the project).
Outside CI a missing data set skips; under CI=true it fails."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("MLXPACK_CLI", os.path.join(ROOT, "build", "cli", "mlxpack"))
DATA = os.environ.get("MLXPACK_TEST_DATA", os.path.join(os.path.dirname(ROOT), "shared"))


def data_path(relative):
    path = os.path.join(DATA, relative)
    if not os.path.exists(path):
        message = "test data not found (set MLXPACK_TEST_DATA): " + relative
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return path


def pack(source_dir, out):
    subprocess.run([CLI, "pack", source_dir, out], check=True, stdout=subprocess.DEVNULL)
    return out


def pack_safetensors(safetensors, tmp_path, name="m"):
    """A pack of one safetensors file beside a minimal config.json."""
    d = tmp_path / (name + "-dir")
    d.mkdir()
    (d / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "hidden_size": 4}')
    shutil.copyfile(safetensors, d / "model.safetensors")
    return pack(str(d), str(tmp_path / (name + ".mlxpack")))


@pytest.fixture(scope="session")
def stories_dir():
    return data_path("models/stories260K")


@pytest.fixture(scope="session")
def stories_pack(stories_dir, tmp_path_factory):
    return pack(stories_dir, str(tmp_path_factory.mktemp("stories") / "stories.mlxpack"))
