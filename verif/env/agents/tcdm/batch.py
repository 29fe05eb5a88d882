"""Analysis ports that publish a batch of items in one call to the subscribers that take one.

The TCDM monitor publishes every access of a poll (tens per transaction
point, tens of thousands per run). A subscriber whose export is a
:func:`batch_analysis_imp` receives the accesses of one poll (a list, in the
order ``write`` would have sent them) in one ``write_batch`` call and can do
once what does not change within it (which job owns which cycles); every
other subscriber still gets each item through its ``write``, as from a plain
``uvm_analysis_port``, so connecting stays the same (``ap.connect(export)``).

Delivery is subscriber by subscriber: the first subscriber sees the whole batch
before the second sees its first item. Subscribers of the same port must
therefore not depend on each other within one batch (analysis subscribers are
independent observers); the monitor never puts an item of another port (a
protocol violation) inside a batch, so the order across its ports is kept.
"""

from __future__ import annotations

from pyuvm import uvm_analysis_port, uvm_subscriber


class BatchAnalysisPort(uvm_analysis_port):
    def write_batch(self, items) -> None:
        """Publish ``items`` (a sequence, in order): ``write_batch(items)`` of the exports that have it,
        ``write(item)`` of each item to the others."""
        for export in self.subscribers:
            write_batch = getattr(export, "write_batch", None)
            if write_batch is not None:
                write_batch(items)
            else:
                write = export.write
                for item in items:
                    write(item)


class _BatchImp(uvm_subscriber.uvm_AnalysisImp):
    def __init__(self, name, parent, write_fn, write_batch_fn):
        super().__init__(name, parent, write_fn)
        self.write_batch = write_batch_fn


def batch_analysis_imp(name, parent, write_fn, write_batch_fn):
    """An analysis export of ``parent`` that calls ``write_fn(item)`` for one item and ``write_batch_fn(items)``
    for a batch from a :class:`BatchAnalysisPort` (both must have the same effect as ``write_fn`` of each item
    in turn)."""
    return _BatchImp(name, parent, write_fn, write_batch_fn)
