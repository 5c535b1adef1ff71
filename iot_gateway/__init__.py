"""Protocol drivers, the Poller and the gateway that feed the PointBus, plus simulators of the hall's devices."""
