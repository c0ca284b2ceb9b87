"""The collector tuning jobs hold: thresholds while any job runs, frozen data, all back after."""

from __future__ import annotations

import gc

from farm.engine.collector import Collector


def test_jobs_running_at_once_share_the_tuning_and_the_last_one_out_restores_the_process() -> None:
    before = gc.get_threshold()
    collector = Collector(threshold=12_345, older=(7, 9))
    try:
        with collector.held():
            assert gc.get_threshold() == (12_345, 7, 9)
            with collector.held():
                records = [{"key": n} for n in range(1000)]
                collector.settle()
                assert gc.get_freeze_count() >= len(records)
            # One job ended, the other runs on: still tuned, its data still frozen.
            assert collector.holders == 1
            assert gc.get_threshold() == (12_345, 7, 9)
            assert gc.get_freeze_count() >= len(records)
        assert collector.holders == 0
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_settling_outside_a_job_freezes_nothing() -> None:
    frozen = gc.get_freeze_count()
    collector = Collector()
    collector.settle()
    assert gc.get_freeze_count() == frozen


def test_a_job_that_fails_still_gives_the_process_its_collector_back() -> None:
    before = gc.get_threshold()
    collector = Collector(threshold=40_000)
    try:
        with collector.held():
            collector.settle()
            raise RuntimeError("the job broke")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
