"""The demo hall: its IFC generator and its site.yaml."""
