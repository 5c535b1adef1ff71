"""Queue analytics: ticket events from the queue system, waits and service times per service and window group,
the next hour's forecast, and the advice to open windows (T/ZAS 4012 7.1.3, DB31/T 862 4.3.3.5)."""
