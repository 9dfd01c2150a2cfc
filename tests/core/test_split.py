def test_opening_a_folder_with_its_split_saved_imports_no_scikit_learn(tmp_path):
    from seggui.core.demo import write_demo
    from seggui.core.folder import open_folder
    from tests.conftest import run_python

    folder = write_demo(tmp_path / "demo", count=5, seed=2)
    open_folder(folder)  # makes and saves the split
    code = (
        "import sys; from seggui.core.folder import open_folder; "
        f"open_folder({str(folder)!r}); print('sklearn' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = run_python(code)
    assert out.stdout.split() == ["False", "False"]
