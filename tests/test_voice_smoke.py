"""A resident votes by keypad from the first ring to the receipt."""
from tests.driver import CallDriver


def test_resident_votes_by_keypad(phone, demo):
    call = CallDriver(phone.dial())
    assert call.said("language.option", name="English", key=1)
    call.press("1")
    assert call.said("menu.voting.open")
    call.press("3").press("34#").press("02118#")
    assert call.said("ballot.intro", count=15, max=5)
    call.press("2").press("3#").press("7#").press("#")
    assert call.said("ballot.review", count=2)
    call.press("1")
    m = call.said("ballot.cast")
    assert m and m.group("receipt")
