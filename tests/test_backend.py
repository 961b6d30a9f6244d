"""hjb imports without DeepXDE, selects the PyTorch backend itself, and refuses another loaded backend."""
import os
import subprocess
import sys

CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("DDE_BACKEND", "DDEBACKEND")}


def python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**CLEAN_ENV, **env})


def test_import_hjb_does_not_import_deepxde():
    result = python("import sys, hjb, hjb.cli, hjb.validation.suites; print('deepxde' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_first_use_loads_deepxde_on_pytorch_quietly():
    result = python("from hjb.backend import load_deepxde; d = load_deepxde(); print(d.backend.backend_name)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pytorch"
    assert "Using backend" not in result.stdout + result.stderr


def test_other_backend_requested_is_a_clear_error():
    result = python(
        "from hjb.backend import load_deepxde\n"
        "from hjb.errors import BackendError\n"
        "try:\n    load_deepxde()\nexcept BackendError as e:\n    print('ERR', e)\n",
        DDE_BACKEND="jax",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ERR DDE_BACKEND is 'jax'; hjb needs 'pytorch'")


def test_deepxde_already_loaded_with_another_backend_is_a_clear_error():
    code = (
        "import sys, types\n"
        "fake = types.ModuleType('deepxde'); fake.backend = types.SimpleNamespace(backend_name='jax')\n"
        "sys.modules['deepxde'] = fake\n"
        "from hjb.backend import load_deepxde\n"
        "from hjb.errors import BackendError\n"
        "try:\n    load_deepxde()\nexcept BackendError as e:\n    print('ERR', e)\n"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert "already loaded with backend 'jax'" in result.stdout
