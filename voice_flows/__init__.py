"""The phone line's flows (IVR state machines), as tables run by `machine`."""
from voice_flows import ballot, idea, menu
from voice_flows.machine import Flow

VOICE = Flow(
    name="voice", channel="voice", start="start", goodbye="goodbye",
    steps={**menu.STEPS, **idea.STEPS, **ballot.STEPS},
    retry_say={"bad": "call.bad_key", "timeout": "call.timeout", "empty": "idea.empty",
               "bad_zip": "vote.bad_zip", "po_box": "vote.zip_po_box", "unknown": "ballot.unknown",
               "bad_number": "call.bad_number", "nothing": "ballot.none"},
)
