"""The domain core of HallTwin: site model, points and readings, the PointBus, clocks and the BIM index."""
