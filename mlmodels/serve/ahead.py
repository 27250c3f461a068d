"""Run a stream's producer ahead of its consumer, in a thread of its own.

The scorer is three steps per batch: read and convert the rows, predict, write the result.
One after the other they leave a core idle (a tree ensemble's ``predict_proba`` barely uses
the second one), so each step runs in its own thread, handing batches on through a queue of
``depth`` slots: memory stays bounded by a few batches, whatever the number of rows. NumPy,
Arrow, DuckDB and scikit-learn's compiled predictors release the GIL while they work.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()
_POLL_SECONDS = 0.1


def ahead(items: Iterable[T], depth: int = 1, name: str = "mlmodels-ahead") -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them in advance.

    Nothing runs until the first item is asked for. An exception raised by the producer is
    raised to the consumer, at the point of the stream where it happened. When the consumer
    stops early (closes the generator or drops it), the producer stops at its next item and
    its own generator is closed in its thread; the thread is joined before this returns.

    Parameters
    ----------
    items
        The stream to produce, iterated in the thread (only there).
    depth
        How many produced items may wait for the consumer.
    name
        The thread's name, as logs and profilers show it.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_on(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        stream = iter(items)
        try:
            for item in stream:
                if not hand_on((item, None)):
                    return
            hand_on((_END, None))
        except BaseException as error:  # noqa: BLE001 (handed to the consumer, raised there)
            hand_on((_END, error))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
