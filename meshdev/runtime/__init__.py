"""Code that runs inside each agent process (never inside meshdev itself).

Kept import-light: every agent start pays for what is imported here.
"""
