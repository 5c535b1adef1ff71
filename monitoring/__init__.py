"""History stores (SQLite default, VictoriaMetrics), live state, occupancy, queues, heatmaps and KPIs."""
