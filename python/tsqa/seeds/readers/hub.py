"""Hugging Face datasets: only the training split is fetched (`streaming=True`).

`load_dataset(path, name, split="train")` without streaming downloads and prepares every split;
streaming reads the requested split's files only. Local dataset folders work the same way.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import pyarrow as pa

from tsqa.seeds.errors import SeedDataError, SeedError
from tsqa.seeds.readers.files import WHERE_COLUMN, rows_to_table


def read_hub_split(
    path: str,
    name: str | None,
    split: str,
    *,
    revision: str | None = None,
    data_files: Any = None,
    limit: int | None = None,
) -> pa.Table:
    from tsqa.seeds.guard import check_hub_not_local

    check_hub_not_local(path, path, data_files)  # `datasets` would load a local folder of that name instead
    try:
        import datasets

        kwargs: dict[str, Any] = {"split": split, "streaming": True}
        if revision:
            kwargs["revision"] = revision
        if data_files:
            kwargs["data_files"] = {split: data_files}  # the training split's files only
        stream = datasets.load_dataset(path, name, **kwargs)
        rows = [dict(row) for row in islice(stream, limit)]
    except SeedError:
        raise
    except Exception as err:  # noqa: BLE001 - datasets raises many kinds; the user needs the message
        where = path + (f" ({name})" if name else "")
        raise SeedError(f"cannot load split {split!r} of {where}: {type(err).__name__}: {err}") from None
    where = f"{path}@{split}"
    if not rows:
        raise SeedDataError(f"{where}: the split holds no rows")
    locations = [f"{where} row {i + 1}" for i in range(len(rows))]
    table = rows_to_table(rows, where, locations)
    if WHERE_COLUMN in table.column_names:
        raise SeedDataError(f"{where}: column {WHERE_COLUMN!r} is reserved by tsqa")
    return table.append_column(WHERE_COLUMN, pa.array(locations, pa.string()))


def card_license(repo: str) -> str | None:
    """The `license:` of a hub dataset card; None offline or when absent (never raises)."""
    import os

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    try:
        from huggingface_hub import HfApi

        card = HfApi().dataset_info(repo).card_data
        value = card.get("license") if card is not None else None
    except Exception:  # noqa: BLE001 - licence lookup is best effort
        return None
    if isinstance(value, list):
        return value[0] if len(value) == 1 else ",".join(map(str, value))
    return value if isinstance(value, str) else None
