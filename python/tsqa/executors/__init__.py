"""Where a plan runs beyond one engine in this process: request streams across tasks
(`stream.py`) and the Ray cluster (`ray/`). Stage logic is never duplicated here: executors only
decide where requests and row batches go."""
