"""Imported by the sandbox's forkserver only: the parser, its readers' libraries and the word
dictionary are loaded there once, so each parse worker forked from it starts warm."""

from .parsing import warm_up

warm_up()
