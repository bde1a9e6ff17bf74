"""No agent imports this module: editing it restarts nothing."""

VALUE = 1
