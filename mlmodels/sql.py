"""SQL text helpers shared by the layers that build queries (a leaf module)."""


def quote(identifier: str) -> str:
    """Return ``identifier`` double-quoted, with embedded quotes doubled (ANSI SQL)."""
    return '"' + identifier.replace('"', '""') + '"'
