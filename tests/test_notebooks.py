"""Every notebook runs top to bottom (nbclient), offline, on a small store built from the fixtures.

The first notebook finds no store at ``$ATTACK_KG_STORE`` and no shared data, so it builds one
from tests/fixtures (ATT&CK cut, D3FEND source-form cut, Sigma repository cut, Atomic cut); the
others open that store. Each must finish without an error and show at least one picture.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

from attackkg.builders.store import current_generation

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01-explore", "02-countermeasure-paths", "03-adversary-coverage", "04-telemetry"]


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTACK_KG_STORE", str(root / "store"))
        patch.setenv("ATTACK_KG_SHARED_DATA", str(root / "no-shared-data"))  # build from the fixtures
        patch.setenv("MPLBACKEND", "Agg")  # no display; the inline backend draws with Agg too
        patch.delenv("ATTACK_KG_TECHNIQUE", raising=False)
        patch.delenv("ATTACK_KG_GROUP", raising=False)
        patch.delenv("ATTACK_KG_TELEMETRY", raising=False)
        yield root / "store"


def test_notebooks_are_committed_without_outputs():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        imports = [
            line.split()[1]
            for cell in notebook.cells
            if cell.cell_type == "code"
            for line in cell.source.splitlines()
            if line.startswith(("import ", "from "))
        ]
        # the library, the standard library, matplotlib and IPython's display; nothing else
        allowed = ("attackkg", "os", "pathlib", "collections", "matplotlib", "IPython")
        assert all(module.split(".")[0] in allowed for module in imports), imports


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, environment):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text]
    images = [o for o in outputs if o.output_type in ("display_data", "execute_result") and "image/png" in o.data]
    assert images, f"{name} shows no picture"
    assert current_generation(environment) is not None  # the first notebook built the fixture store
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    if name == "01-explore":
        assert "built" in text and "nodes" in text
    if name == "02-countermeasure-paths":
        assert "same defensive techniques: True" in text
    if name == "03-adversary-coverage":
        assert "G0016 APT29 uses 3 techniques" in text
    if name == "04-telemetry":
        assert "G0016 APT29: 3 techniques; with " in text and "detectable now" in text
