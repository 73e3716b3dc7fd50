"""The run directory layout.

<output.dir>/
  state.json                         what the last complete apply produced (plan diffs read it)
  cache/responses.sqlite             the response cache (model calls are never repeated)
  tasks/<task>/<stage>/<fingerprint>/
      data/part-*.parquet            the stage's output rows
      rejects/part-*.parquet         rows the stage dropped, each with its reason
      manifest.json                  written last: the stage is complete
  datasets/<task>/part-*.parquet     the packaged dataset (structured fields + `text` + provenance)
  blend.json                         per task: shards, weight, rows, tokens (Megatron-style)
  dedup-index/*.index                MinHash index of the kept questions, for later runs' dedup
  report.md, report/*.png, report.html   quality report (tsqa.report): samples, diversity, positions, …
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunDir:
    root: Path

    def stage(self, task: str, stage: str, fingerprint: str) -> Path:
        return self.root / "tasks" / task / stage / fingerprint

    def data(self, task: str, stage: str, fingerprint: str) -> Path:
        return self.stage(task, stage, fingerprint) / "data"

    def rejects(self, task: str, stage: str, fingerprint: str) -> Path:
        return self.stage(task, stage, fingerprint) / "rejects"

    @property
    def cache(self) -> Path:
        return self.root / "cache" / "responses.sqlite"

    def dataset(self, task: str) -> Path:
        return self.root / "datasets" / task

    @property
    def blend(self) -> Path:
        return self.root / "blend.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"
