"""Turn a model's completion into a runnable program: fenced blocks, restated functions or bare bodies."""

from __future__ import annotations

import ast
import re

__all__ = ["code_from_completion", "assemble_program", "defines_function", "clean_module"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
         ast.AnnAssign)


def code_from_completion(text: str, entry_point: str | None = None) -> str:
    """The code inside a completion: the fenced block defining ``entry_point`` (else the first
    Python or unlabelled block), or the whole text when there is no fence. An unclosed fence
    (a truncated completion) runs to the end of the text.

    >>> code_from_completion("Sure:\\n```python\\ndef f():\\n    return 1\\n```\\nIt returns 1.")
    'def f():\\n    return 1\\n'
    >>> code_from_completion("```\\nx = 1\\n```\\n```python\\ndef g():\\n    pass\\n```", "g")
    'def g():\\n    pass\\n'
    >>> code_from_completion("    return a + b")
    '    return a + b'
    """
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        return text
    if entry_point:
        for _, body in blocks:
            if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", body, re.M):
                return body
    for lang, body in blocks:
        if lang in ("python", "py", "python3", ""):
            return body
    return blocks[0][1]


def _parse_prefix(code: str) -> ast.Module | None:
    """Parse ``code``, dropping trailing lines until it parses (prose after a restated function)."""
    lines = code.rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        try:
            return ast.parse("\n".join(lines[:end]))
        except (SyntaxError, ValueError):
            continue
    return None


def clean_module(code: str) -> str | None:
    """Keep only the definitions of ``code`` (imports, functions, classes, constants), dropping
    example calls, prints and ``if __name__`` blocks; trailing prose is cut. ``None`` if
    nothing parses.

    >>> print(clean_module("import math\\ndef f(x):\\n    return x\\nprint(f(2))\\nThis prints 2."))
    import math
    def f(x):
        return x
    """
    tree = _parse_prefix(code)
    if tree is None:
        return None
    lines = code.splitlines()
    kept = [lines[_first_line(node) - 1:node.end_lineno] for node in tree.body if isinstance(node, _KEEP)]
    return "\n".join(line for chunk in kept for line in chunk) if kept else None


def _first_line(node: ast.stmt) -> int:
    """First source line of a statement, decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def defines_function(code: str, name: str) -> bool:
    """Whether ``code`` defines a top-level function ``name``.

    >>> defines_function("def f():\\n    return 1", "f"), defines_function("    return 1", "f")
    (True, False)
    """
    tree = _parse_prefix(code)
    return tree is not None and any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in tree.body)


def _is_module(code: str) -> bool:
    """Code that defines top-level functions and returns nothing at top level: a module, not a body.

    >>> _is_module("def helper(x):\\n    return x"), _is_module("def g(x):\\n    return x\\nreturn g(1)")
    (True, False)
    """
    tree = _parse_prefix(code)
    if tree is None:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in tree.body) and \
        not any(isinstance(n, ast.Return) for n in tree.body)


def _indent_body(body: str) -> str:
    """Indent a function body written flush-left by the model; keep it as is if already indented."""
    lines = body.strip("\n").splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first and not first[0].isspace():
        lines = ["    " + line if line.strip() else line for line in lines]
    return "\n".join(lines)


def assemble_program(stub: str, completion: str, entry_point: str | None) -> str:
    """The program to test: the prompt's stub (imports, helpers, the documented signature) followed
    by the model's code. A completion that restates the function redefines it after the stub; a
    completion that only writes the body continues the stub.

    >>> stub = "def add(a, b):\\n    '''Sum.'''\\n"
    >>> print(assemble_program(stub, "```python\\ndef add(a, b):\\n    return a + b\\n```", "add"))
    def add(a, b):
        '''Sum.'''
    <BLANKLINE>
    def add(a, b):
        return a + b
    >>> print(assemble_program(stub, "return a + b", "add"))
    def add(a, b):
        '''Sum.'''
        return a + b
    """
    code = code_from_completion(completion, entry_point)
    if entry_point is None or defines_function(code, entry_point) or _is_module(code):
        cleaned = clean_module(code)
        return stub.rstrip() + "\n\n" + (cleaned if cleaned is not None else code.strip("\n"))
    program = stub.rstrip() + "\n" + _indent_body(code)
    cleaned = clean_module(program)
    return cleaned if cleaned is not None else program
