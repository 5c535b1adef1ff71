"""Crowd heatmaps: a per-storey occupancy grid fused from camera floor positions, people counters and queue
lengths, live and over a time window, and the zone densities behind crowding alarms (GB/T 40756 9.8.4.9)."""
