"""BIM: the IfcIndex of storeys, spaces, doors, stairs and devices, and GLB export."""
