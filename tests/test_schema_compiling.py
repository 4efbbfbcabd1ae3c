"""XSDs are compiled one at a time in a process: libxml2 keeps process-wide state while it
compiles one (its built-in types), and two threads compiling at once crashed the AEAT
simulator with a segmentation fault when its first requests arrived together."""

from __future__ import annotations

import threading
import time

import pytest
from lxml import etree

from verifactu import xmlkit
from verifactu.simulator import schemas as simulator_schemas


class Overlaps:
    """A stand-in for ``etree.XMLSchema`` that records how many compiles ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, doc) -> object:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return object()


def at_once(function, threads: int = 6) -> None:
    start = threading.Barrier(threads)

    def call() -> None:
        start.wait()
        function()

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


@pytest.fixture
def overlaps(monkeypatch) -> Overlaps:
    recorder = Overlaps()
    monkeypatch.setattr(etree, "XMLSchema", recorder)
    return recorder


def test_threads_loading_the_engines_schemas_compile_them_one_at_a_time(overlaps):
    at_once(lambda: xmlkit.schema("SuministroLR.xsd"))  # each thread its own copy
    assert overlaps.calls == 6 and overlaps.most == 1


def test_the_simulators_first_requests_compile_its_schema_once(overlaps):
    simulator_schemas._compiled_schema.cache_clear()
    try:
        at_once(simulator_schemas.combined_schema)
        assert overlaps.calls == 1
    finally:
        simulator_schemas._compiled_schema.cache_clear()
