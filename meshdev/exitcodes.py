"""Exit codes, in one place: 0 ok, 1 runtime failure, 2 usage or configuration error,
128 + N after signal N (130 for SIGINT, 143 for SIGTERM) with every agent stopped."""

OK = 0
FAILURE = 1
USAGE = 2


def after_signal(signum: int) -> int:
    return 128 + signum
