"""Two local stacks started from one checkout build and deploy one after the other."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from devstack.sam import RepoPaths, build_lock

WAITING = "waiting for another run's build and deploy in this checkout"


def test_a_second_build_waits_until_the_first_build_and_deploy_are_done(tmp_path: Path) -> None:
    # Given one run holding the checkout's build lock
    paths = RepoPaths(tmp_path)
    said: list[str] = []
    order: list[str] = []

    def second() -> None:
        with build_lock(paths, said.append):
            order.append("second builds")

    with build_lock(paths, said.append):
        order.append("first builds")
        # When a second run asks for it
        waiter = threading.Thread(target=second)
        waiter.start()
        for _ in range(500):  # bounded: 5 s
            if said:
                break
            time.sleep(0.01)
        # Then it says why it waits, and does not build while the first one deploys
        assert said == [WAITING]
        order.append("first deployed")
    # And it goes on once the first run is done
    waiter.join(5)
    assert order == ["first builds", "first deployed", "second builds"]
