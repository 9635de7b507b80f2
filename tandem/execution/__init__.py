"""Shared execution: server-side kernels whose outputs everyone sees and that outlive the tab."""

from .document import EXECUTION_MAP, ExecutionDocument, OutputWriter
from .kernel import ExecutionSettings, NotebookKernel
from .records import CellState, KernelStatus, Requester, Run, source_hash
from .service import OWNER, CellRequest, ExecutionService, SourceChanged, UnknownCell

__all__ = [
    "EXECUTION_MAP",
    "OWNER",
    "CellRequest",
    "CellState",
    "ExecutionDocument",
    "ExecutionService",
    "ExecutionSettings",
    "KernelStatus",
    "NotebookKernel",
    "OutputWriter",
    "Requester",
    "Run",
    "SourceChanged",
    "UnknownCell",
    "source_hash",
]
