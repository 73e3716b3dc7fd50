"""A prompt that renders for the plan's samples but not for one record met in apply (over a render
bound) stops apply with a message naming the request, never a traceback; finished work is kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scripted_project import scripted_engine

from tsqa.apply.session import ApplyFailed, run_apply

# Loops past the render's iteration bound only for the generated question about fire trucks.
SOLVE = (
    "{% if 'fire trucks' in question %}{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}{% endif %}"
    "Answer the question.\\n{{ question }}\\n{% for c in choices %}{{ c }}\\n{% endfor %}"
)


def test_a_record_over_a_render_bound_is_named_and_apply_exits_cleanly(project: Path) -> None:
    spec = project / "specs" / "colours.yaml"
    spec.write_text(spec.read_text() + f'verify: {{prompt: {{inline: "{SOLVE}"}}}}\n')
    with pytest.raises(ApplyFailed) as failed:
        run_apply([project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: scripted_engine())
    message = "\n".join(failed.value.lines)
    assert re.search(r"error: colours/solve/colours:\d+\.\d+/\d+: the prompt does not render", message), message
    assert "RenderLimitError" in message and "Traceback" not in message, message
    assert (project / "run" / "tasks" / "colours" / "generate").is_dir()  # generation was kept
