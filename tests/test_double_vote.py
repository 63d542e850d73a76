"""One resident, one ballot: a call and a text confirming at the same moment give one ballot."""
import threading

from sqlalchemy import func, select

from store.models import Ballot
from tests.driver import CallDriver, TextDriver


def _call_at_review(phone):
    call = CallDriver(phone.dial())
    call.press("1").press("3").press("34#").press("02118#").press("2").press("3#").press("7#").press("#")
    assert call.said("ballot.review", count=2)
    return call


def _text_at_review(phone):
    t = TextDriver(phone)
    for body in ("VOTE", "34", "02118", "1 2 3"):
        t.send(body)
    assert t.said("ballot.review", count=3)
    return t


def _all_at_once(*actions) -> None:
    """Run the actions in threads released together; re-raise what any of them raised."""
    start = threading.Barrier(len(actions))
    errors = []

    def go(action):
        start.wait()
        try:
            action()
        except Exception as e:  # surfaced below: a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=go, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_call_and_text_confirming_together_cast_one_ballot(make_phone, demo, db):
    for i in range(5):
        number = f"+1617555{i:04d}"
        call, text = _call_at_review(make_phone(number)), _text_at_review(make_phone(number))
        _all_at_once(lambda: call.press("1"), lambda: text.send("YES"))
        with db.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(Ballot)) == i + 1
        # Both channels read out the one receipt that counts: one as cast, one as already voted.
        voice = call.said("ballot.cast") or call.said("vote.already")
        sms = text.said("ballot.cast") or text.said("vote.already")
        assert voice and sms and voice.group("receipt").replace(" ", "").replace(",", "") == sms.group("receipt")
        assert bool(call.said("ballot.cast")) != bool(text.said("ballot.cast"))


def test_many_simultaneous_confirmations_from_one_number_give_one_ballot(make_phone, demo, db):
    texters = [_text_at_review(make_phone("+16175559999"))]
    # One conversation per number for texts, so the racers are calls plus the one text.
    calls = [_call_at_review(make_phone("+16175559999")) for _ in range(6)]
    _all_at_once(*[lambda c=c: c.press("1") for c in calls], lambda: texters[0].send("YES"))
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Ballot)) == 1
        receipt = s.scalar(select(Ballot.receipt))
    spoken = [c.said("ballot.cast") or c.said("vote.already") for c in calls]
    assert all(m and m.group("receipt").replace(" ", "").replace(",", "") == receipt for m in spoken)
