from grader.execution.cells import VALUE_BUDGET_S, select_code


def cells(*sources, kind="code"):
    return [{"cell_type": kind, "source": s} for s in sources]


def test_full_mode_keeps_every_code_cell_as_written():
    units = select_code(cells("x = train()", "print(1)") + cells("# md", kind="markdown"), "full")
    assert [u.source for u in units] == ["x = train()", "print(1)"]
    assert [u.cell for u in units] == [1, 2]


def _statements(unit):
    """(first line, budget) of each statement a definitions unit runs."""
    return [(line, budget) for _, line, _, budget in unit.statements]


def test_definitions_run_imports_functions_classes_as_written_and_values_under_a_budget():
    source = (
        "import numpy as np\n"
        "from rnn_utils import *\n"
        "n_a = 5\n"
        "@decorate\n"
        "def f(x):\n"
        "    return train(x)\n"
        "class Model:\n"
        "    pass\n"
        "history = train(model, epochs=100)\n"
        "for epoch in range(10):\n"
        "    step()\n"
        "while True:\n"
        "    pass\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
        "torch.manual_seed(0)\n"
        "model\n"
    )
    (unit,) = select_code(cells(source), "definitions")
    assert "import numpy as np" in unit.source and "from rnn_utils import *" in unit.source
    assert "@decorate\ndef f(x):\n    return train(x)" in unit.source and "class Model" in unit.source
    assert "history = train(model, epochs=100)" in unit.source and "torch.manual_seed(0)" in unit.source
    for dropped in ("for epoch", "while True", "__main__", "\nmodel\n"):
        assert dropped not in unit.source + "\n"
    budget = VALUE_BUDGET_S
    assert _statements(unit) == [(1, None), (2, None), (3, budget), (4, None), (7, None), (9, budget), (16, budget)]


def test_an_import_fallback_is_a_definition_and_other_blocks_are_values():
    source = ("try:\n    import torch\nexcept ImportError:\n    torch = None\n"
              "if torch.cuda.is_available():\n    device = 'cuda'\n"
              "with open('vocab.txt') as f:\n    vocab = f.read().split()\n")
    (unit,) = select_code(cells(source), "definitions")
    assert _statements(unit) == [(1, None), (5, VALUE_BUDGET_S), (7, VALUE_BUDGET_S)]


def test_a_python_2_line_costs_only_its_statement():
    source = "import os\nprint 'starting'\ndef f(x):\n    return x\n@dec\ndef g():\n    print 'old'\nh = 1\n"
    (unit,) = select_code(cells(source), "definitions")
    assert "def f(x)" in unit.source and "h = 1" in unit.source and "import os" in unit.source
    assert "def g" not in unit.source and "print 'starting'" not in unit.source
    assert unit.note.count("SyntaxError") == 2 and "line 2" in unit.note and "line 7" in unit.note


def test_magics_and_shell_lines_are_dropped_and_writefile_cells_kept():
    units = select_code(cells("%matplotlib inline\n!pip install foo\nimport os",
                              "%%time\ntrain()",
                              "%%writefile helper.py\ndef h():\n    return 1"), "definitions")
    assert [u.source for u in units] == ["import os", "%%writefile helper.py\ndef h():\n    return 1"]


def test_syntax_error_becomes_a_note_not_an_exception():
    (unit,) = select_code(cells("def f(:\n    pass"), "definitions")
    assert unit.source == "" and not unit.code and "SyntaxError" in unit.note and "line 1" in unit.note


def test_list_sources_and_empty_cells():
    units = select_code([{"cell_type": "code", "source": ["import os\n", "x = 1\n"]},
                         {"cell_type": "code", "source": "   "}], "definitions")
    assert len(units) == 1 and units[0].source == "import os\nx = 1"
