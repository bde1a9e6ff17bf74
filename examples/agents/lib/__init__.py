"""Code shared by the demo agents."""
