"""Readers of one training split, per kind of source. Call them only through `load.read_split`,
which applies the eval-split guard first."""
