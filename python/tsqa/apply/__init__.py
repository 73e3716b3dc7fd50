"""`tsqa apply`: run a Plan on engines, stage by stage, resumably, into a run directory."""
