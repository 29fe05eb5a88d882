"""Small helpers for components with several analysis inputs."""

from __future__ import annotations

from pyuvm import uvm_subscriber


def analysis_imp(name, parent, write_fn):
    """An analysis export of ``parent`` that calls ``write_fn(item)`` (like SystemVerilog's uvm_analysis_imp_decl)."""
    return uvm_subscriber.uvm_AnalysisImp(name, parent, write_fn)
