"""Wayfinding on the building model: a navigation graph built from any IFC, routes, instructions, destinations."""
