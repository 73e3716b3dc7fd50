"""Training-ready exports of a run's packaged datasets: Megatron indexed datasets with their blend,
and a Hugging Face dataset folder (`tsqa export megatron|hf RUN`)."""
