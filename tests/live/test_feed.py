"""The change feed's ring buffer and bounded subscriptions."""

from __future__ import annotations

import asyncio

from k8s_optimizer.live.feed import ChangeLog


def publish(log: ChangeLog, count: int) -> None:
    for index in range(count):
        log.publish("added", "Pod", "ns", f"p{index}", None)


def test_seq_is_monotonic_and_since_returns_the_tail() -> None:
    log = ChangeLog(size=10)
    publish(log, 4)
    assert log.seq == 4
    assert [c.seq for c in log.since(1) or []] == [2, 3, 4]
    assert log.since(4) == []
    assert log.since(99) == []


def test_since_is_none_when_the_ring_no_longer_reaches_back() -> None:
    log = ChangeLog(size=3)
    publish(log, 5)
    assert [c.seq for c in log.since(2) or []] == [3, 4, 5]
    assert log.since(1) is None
    assert log.since(0) is None


async def test_subscription_delivers_in_order_and_waits_for_more() -> None:
    log = ChangeLog()
    subscription = log.subscribe(maxsize=10)
    publish(log, 2)
    assert [(await anext(subscription)).seq for _ in range(2)] == [1, 2]
    waiter = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    assert not waiter.done()
    log.publish("deleted", "Pod", "ns", "p0", None)
    assert (await asyncio.wait_for(waiter, 1.0)).type == "deleted"


async def test_full_queue_overflows_instead_of_blocking_and_ends_iteration() -> None:
    log = ChangeLog()
    slow = log.subscribe(maxsize=3)
    fast = log.subscribe(maxsize=100)
    publish(log, 5)
    assert slow.overflowed
    assert [change async for change in slow] == []
    assert fast.pending() == 5
    assert log.subscriber_count == 1  # the overflowed one was dropped from the fan-out


async def test_close_ends_a_waiting_iteration() -> None:
    log = ChangeLog()
    subscription = log.subscribe(maxsize=3)
    consumer = asyncio.create_task(anext(subscription, None))
    await asyncio.sleep(0)
    subscription.close()
    assert await asyncio.wait_for(consumer, 1.0) is None
    assert (subscription.closed, subscription.overflowed, log.subscriber_count) == (True, False, 0)


def test_replace_object_swaps_a_payload_in_the_ring_and_ignores_evicted_seqs() -> None:
    log = ChangeLog(size=3)
    publish(log, 5)
    assert log.replace_object(4, "light")
    assert not log.replace_object(2, "gone")
    assert not log.replace_object(6, "future")
    assert [(c.seq, c.name, c.object) for c in log.since(2) or []] == [
        (3, "p2", None),
        (4, "p3", "light"),
        (5, "p4", None),
    ]
