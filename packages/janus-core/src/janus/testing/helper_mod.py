"""A module of its own, for pitfall C19 (a global written by a callee defined elsewhere)."""


def run(fn, x):
    return fn(x)
