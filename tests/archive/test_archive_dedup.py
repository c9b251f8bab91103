"""code_hash: formatting-blind for valid Python, whitespace-blind for broken code."""

from evolve.archive.dedup import code_hash, normalize


def test_formatting_and_comments_do_not_matter():
    a = "def f(x):\n    # add one\n    return x + 1\n"
    b = "def f( x ):\n\n    return (x+1)   # different comment\n"
    c = "def f(x): return x+1"
    assert code_hash(a) == code_hash(b) == code_hash(c)
    assert code_hash("s = 'a'") == code_hash('s = "a"')


def test_semantic_changes_do():
    assert code_hash("def f(x): return x + 1") != code_hash("def f(x): return x + 2")
    assert code_hash("def f(x): return x") != code_hash("def g(x): return x")
    # Docstrings are values a program can read, so they count.
    assert code_hash('def f():\n    "a"\n') != code_hash('def f():\n    "b"\n')


def test_unparseable_code_falls_back_to_whitespace_blind_text():
    broken = "def f(x)\n    return x +"
    assert code_hash(broken) == code_hash("def f(x)  \n\treturn  x +  ")
    assert code_hash(broken) != code_hash("def f(y)\n    return y +")
    assert normalize(broken).startswith("\0raw\0")
    # A broken program never hashes like a valid one with the same characters.
    assert code_hash("x=1") != code_hash("\0raw\0x=1")
    assert len(code_hash("")) == 64
