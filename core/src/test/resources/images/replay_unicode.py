# -*- coding: utf-8 -*-
# Loaded by replay_target.py on 3.x only (2.7 has no non-ASCII identifiers and no coroutines). The
# capture helper copies it to a non-ASCII file name, so co_filename is not ASCII either.


def naïve_ß(parked, leaf):
    leaf(parked)


async def 協程(parked, leaf):
    naïve_ß(parked, leaf)


def drive(parked, leaf):
    coroutine = 協程(parked, leaf)
    coroutine.send(None)
