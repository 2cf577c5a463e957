"""Applying webhook deliveries: the PROCESS_DELIVERY job and one handler per event.

``processing.process_delivery(context, guid)`` is the job; ``errors`` says which failures a
queue retries. ``envelope`` is what the receiver reads of a body before storing it.
"""
