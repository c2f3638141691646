"""Execute every example notebook top to bottom (they cannot rot) and check that the
committed .ipynb files are exactly what notebooks/build_notebooks.py generates."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = ["01_sample.ipynb", "02_ingest.ipynb", "03_rates.ipynb", "04_figures.ipynb"]


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", NB_DIR / "build_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _kernel_name() -> str:
    """A kernel running this interpreter: the native ipykernel spec, installed on demand."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec("python3")
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() or spec.argv[0] == "python":
            return "python3"
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name="evalkit-test", display_name="evalkit test")
    return "evalkit-test"


def test_committed_notebooks_match_builder(tmp_path):
    _builder().build(tmp_path)
    for name in NOTEBOOKS:
        committed = json.loads((NB_DIR / name).read_text(encoding="utf-8"))
        fresh = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        assert committed == fresh, f"{name} is stale: run python notebooks/build_notebooks.py"
        assert all(not c.get("outputs") for c in committed["cells"] if c["cell_type"] == "code"), \
            f"{name} was committed with outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name=_kernel_name(),
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
