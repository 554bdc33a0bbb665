"""WeightBudget waits for the next minute before the limit, never after."""

from binance_airflow.binance.weight_budget import WeightBudget


class FakeTime:
    def __init__(self, now: float):
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_waits_for_next_minute_before_the_ceiling():
    t = FakeTime(600.0 + 10)  # 10 s into a minute
    budget = WeightBudget(limit=100, headroom=0.9, clock=t.clock, sleep=t.sleep)
    for _ in range(45):
        budget.reserve(2)
    assert budget.used == 90 and t.slept == []
    budget.reserve(2)
    assert t.slept == [50.25]
    assert budget.used == 2


def test_server_count_is_taken_when_higher():
    t = FakeTime(1200.0)
    budget = WeightBudget(limit=100, clock=t.clock, sleep=t.sleep)
    budget.reserve(2)
    budget.observe({"X-MBX-USED-WEIGHT-1M": "88"})
    assert budget.used == 88
    budget.observe({"X-MBX-USED-WEIGHT-1M": "5"})
    assert budget.used == 88
    budget.reserve(2)
    assert budget.used == 90 and t.slept == []
    budget.reserve(2)
    assert len(t.slept) == 1


def test_window_resets_each_minute():
    t = FakeTime(1800.0)
    budget = WeightBudget(limit=10, clock=t.clock, sleep=t.sleep)
    budget.reserve(9)
    t.now += 60
    assert budget.used == 0
