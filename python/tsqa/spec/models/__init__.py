"""Typed models of the two file kinds: the project file and the task spec."""

from tsqa.spec.models.common import SPEC_FORMAT_VERSION
from tsqa.spec.models.project import OpenAIModel, Project, RayExecutor, VllmModel
from tsqa.spec.models.seed import FilesSeed, HfSeed, LmEvalSeed
from tsqa.spec.models.stages import STAGE_NAMES, NoVerify, VoteVerify
from tsqa.spec.models.task import FieldMapping, Format, TaskSpec

__all__ = [
    "SPEC_FORMAT_VERSION",
    "STAGE_NAMES",
    "FieldMapping",
    "FilesSeed",
    "Format",
    "HfSeed",
    "LmEvalSeed",
    "NoVerify",
    "OpenAIModel",
    "Project",
    "RayExecutor",
    "TaskSpec",
    "VllmModel",
    "VoteVerify",
]
