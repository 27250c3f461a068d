"""The scorer's pipelined steps: order kept, errors raised where they happened, memory bounded."""

import threading
import time

import pytest

from mlmodels.serve.ahead import ahead


def test_items_come_in_order_produced_in_another_thread():
    threads = set()

    def produce():
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(ahead(produce(), name="step")) == list(range(50))
    assert threads == {"step"}


def test_nothing_runs_until_the_first_item_is_asked_for():
    started = []

    def produce():
        started.append(True)
        yield 1

    stream = ahead(produce())
    assert started == []
    assert next(stream) == 1


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def produce():
        yield 1
        yield 2
        raise RuntimeError("bad batch")

    stream = ahead(produce())
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(RuntimeError, match="bad batch"):
        next(stream)


def test_the_producer_runs_at_most_depth_items_ahead():
    produced = []

    def produce():
        for i in range(100):
            produced.append(i)
            yield i

    stream = ahead(produce(), depth=2)
    assert next(stream) == 0
    time.sleep(0.5)  # give the producer every chance to run ahead
    # one handed out, two waiting in the queue, one held while it waits for a slot
    assert len(produced) <= 4
    stream.close()


def test_a_consumer_that_stops_early_stops_and_closes_the_producer():
    closed, produced = threading.Event(), []

    def produce():
        try:
            for i in range(10**6):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = ahead(produce())
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # joins the producer's thread
    assert closed.is_set()
    assert len(produced) < 10
    assert not any(t.name == "mlmodels-ahead" for t in threading.enumerate())
