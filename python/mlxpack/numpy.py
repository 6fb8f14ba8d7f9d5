"""safetensors.numpy-style helpers."""
from ._reader import safe_open


def load_file(path):
    """Every tensor of a .mlxpack file: {name: read-only zero-copy array}."""
    with safe_open(path, framework="numpy") as f:
        return {name: f.get_tensor(name) for name in f.keys()}
