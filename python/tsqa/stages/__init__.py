"""The stages `tsqa apply` runs: generate → parse → solve → verify → enrich → dedup →
decontaminate → package → blend. Pure transforms over Arrow tables; I/O lives in the executor."""
