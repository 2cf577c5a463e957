"""The reconcile sweep: discovery → change detection → synchronization, run by the processor."""
