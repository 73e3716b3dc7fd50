"""Type stubs for the Rust extension (the contract of rust/src/py)."""

__version__: str
