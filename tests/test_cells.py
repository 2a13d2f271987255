from grader.execution.cells import select_code


def cells(*sources, kind="code"):
    return [{"cell_type": kind, "source": s} for s in sources]


def test_full_mode_keeps_every_code_cell_as_written():
    units = select_code(cells("x = train()", "print(1)") + cells("# md", kind="markdown"), "full")
    assert [u.source for u in units] == ["x = train()", "print(1)"]
    assert [u.cell for u in units] == [1, 2]


def test_definitions_keep_imports_functions_classes_and_constants_only():
    source = (
        "import numpy as np\n"
        "from rnn_utils import *\n"
        "n_a = 5\n"
        "shape = (n_a, 2 * n_a)\n"
        "@decorate\n"
        "def f(x):\n"
        "    return train(x)\n"
        "class Model:\n"
        "    pass\n"
        "history = train(model, epochs=100)\n"
        "for epoch in range(10):\n"
        "    step()\n"
        "print('done')\n"
    )
    (unit,) = select_code(cells(source), "definitions")
    assert "import numpy as np" in unit.source and "from rnn_utils import *" in unit.source
    assert "n_a = 5" in unit.source and "shape = (n_a, 2 * n_a)" in unit.source
    assert "@decorate\ndef f(x):\n    return train(x)" in unit.source
    assert "class Model" in unit.source
    for dropped in ("history", "for epoch", "print("):
        assert dropped not in unit.source


def test_definitions_keep_cheap_calls_and_lambdas_but_not_expensive_calls():
    source = ("device = torch.device('cpu')\nnp.random.seed(1)\nsquare = lambda x: train(x)\n"
              "model = Net()\ndata = load_dataset('cola')\n")
    (unit,) = select_code(cells(source), "definitions")
    assert "torch.device" in unit.source and "np.random.seed(1)" in unit.source and "square = lambda" in unit.source
    assert "Net()" not in unit.source and "load_dataset" not in unit.source


def test_magics_and_shell_lines_are_dropped_and_writefile_cells_kept():
    units = select_code(cells("%matplotlib inline\n!pip install foo\nimport os",
                              "%%time\ntrain()",
                              "%%writefile helper.py\ndef h():\n    return 1"), "definitions")
    assert [u.source for u in units] == ["import os", "%%writefile helper.py\ndef h():\n    return 1"]


def test_try_import_fallback_is_a_definition():
    source = "try:\n    import torch\nexcept ImportError:\n    torch = None\n"
    (unit,) = select_code(cells(source), "definitions")
    assert unit.source == source.rstrip("\n")


def test_syntax_error_becomes_a_note_not_an_exception():
    (unit,) = select_code(cells("def f(:\n    pass"), "definitions")
    assert unit.source == "" and "SyntaxError" in unit.note and "line 1" in unit.note


def test_list_sources_and_empty_cells():
    units = select_code([{"cell_type": "code", "source": ["import os\n", "x = 1\n"]},
                         {"cell_type": "code", "source": "   "}], "definitions")
    assert len(units) == 1 and units[0].source == "import os\nx = 1"
