"""The flow engine: flows are tables of steps; one pure step per caller input.

Voice (`voice_flows`) and text (`sms`) flows both run on it. A step says its prompt, then
either waits for the caller (`wait`) or routes on what is already known (`route`). The
caller's answer is parsed into an outcome, and the step's exits map outcomes to the next
step. Nothing here touches the database or Twilio: effects are plain values that the
edges apply (`store.effects`) and render (`hotline.edge`).
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

MAX_TRIES = 3      # wrong keys or silences in a row before a polite goodbye
MAX_HOPS = 25      # a flow that routes this often without waiting is a bug in its table


# ---- what the flows know about the world (built by store, read by steps) ----

@dataclass(frozen=True)
class ProposalView:
    number: int
    cost: int
    title: Mapping[str, str]
    description: Mapping[str, str]


@dataclass(frozen=True)
class CycleView:
    id: int
    name: str
    timezone: str
    ideas_open: datetime       # naive UTC, like `Ctx.now`
    ideas_close: datetime
    voting_open: datetime
    voting_close: datetime
    budget_cap: int
    max_choices: int
    min_age: int
    min_grade: int | None
    residency: Mapping[str, str]        # ZIP -> residential | shared | po-box
    proposals: tuple[ProposalView, ...]

    def proposal(self, number: int) -> ProposalView | None:
        return next((p for p in self.proposals if p.number == number), None)


@dataclass(frozen=True)
class Ctx:
    """Everything a step may consult, loaded before the step runs."""

    now: datetime
    cycle: CycleView | None
    can_vote: bool = True              # False for withheld or invalid caller ids
    receipt: str | None = None         # this caller's ballot receipt, if already voted
    idea_ref: str | None = None        # reference code of the idea this conversation left
    languages: tuple[str, ...] = ("en",)
    line_lang: str | None = None       # the language of the number that was called or texted


# ---- input ----

@dataclass(frozen=True)
class RecordingInfo:
    sid: str
    url: str
    duration: int
    hung_up: bool = False


@dataclass(frozen=True)
class Inbound:
    """One caller event, already taken out of Twilio's form by `hotline.edge`."""

    channel: str                       # "voice" | "sms"
    text: str = ""                     # keys pressed, or the text's body
    start: bool = False                # a new call / conversation
    recording: RecordingInfo | None = None


# ---- effects ----

@dataclass(frozen=True)
class Ref:
    """A value known only once an effect has been applied (a receipt, a reference code)."""

    name: str


@dataclass(frozen=True)
class Say:
    key: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    lang: str | None = None            # speak this one in another language (the language menu)


@dataclass(frozen=True)
class Gather:
    num_digits: int | None = None      # None: until '#'


@dataclass(frozen=True)
class Record:
    max_length: int = 180


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class End:
    """The text conversation is over; the next text starts afresh."""


@dataclass(frozen=True)
class SetLanguage:
    lang: str


@dataclass(frozen=True)
class SaveRecordedIdea:
    recording: RecordingInfo


@dataclass(frozen=True)
class WithdrawIdea:
    recording_sid: str


@dataclass(frozen=True)
class SetIdeaZip:
    zip_code: str


@dataclass(frozen=True)
class SaveTextIdea:
    text: str


@dataclass(frozen=True)
class CastBallot:
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class OptIn:
    pass


Effect = Any  # any of the dataclasses above


# ---- state and tables ----

@dataclass
class State:
    node: str
    lang: str = "en"
    tries: int = 0
    data: dict[str, Any] = field(default_factory=dict)


Parsed = tuple[str, dict[str, Any]]
Parser = Callable[[Inbound, State, Ctx], Parsed]
Router = Callable[[State, Ctx], str]
Prompt = Callable[[State, Ctx], list[Say]]
Action = Callable[[State, dict[str, Any], Ctx], list[Effect]]


@dataclass(frozen=True)
class Exit:
    to: str
    do: Action | None = None           # may change `state.data` and return effects


@dataclass(frozen=True)
class Step:
    say: str | Prompt | None = None
    parse: Parser | None = None        # with `wait`: how the caller's answer becomes an outcome
    route: Router | None = None        # without `wait`: where to go next
    exits: Mapping[str, str | Exit] = field(default_factory=dict)
    wait: Gather | Record | None = None
    back: str | None = None            # where '0' leads
    end: bool = False                  # hang up / close the conversation after saying


@dataclass(frozen=True)
class Flow:
    name: str
    channel: str                       # "voice" ends with a hang-up, "sms" closes the conversation
    start: str
    steps: Mapping[str, Step]
    goodbye: str                       # after MAX_TRIES
    retry_say: Mapping[str, str] = field(default_factory=dict)  # outcome -> prompt key

    def __getitem__(self, node: str) -> Step:
        return self.steps[node]


class FlowError(ValueError):
    """A flow table is inconsistent (an exit to a missing step, a missing prompt)."""


def _exit(target: str | Exit) -> Exit:
    return target if isinstance(target, Exit) else Exit(target)


def validate(flow: Flow, has_prompt: Callable[[str], bool]) -> None:
    """Check that every exit names a step and every prompt key exists.

    :raises FlowError: listing every problem found.
    """
    problems = []
    if flow.start not in flow.steps:
        problems.append(f"start step {flow.start!r} is missing")
    for name, step in flow.steps.items():
        targets = [_exit(t).to for t in step.exits.values()] + ([step.back] if step.back else [])
        problems += [f"{name}: exit to missing step {t!r}" for t in targets if t not in flow.steps]
        if isinstance(step.say, str) and not has_prompt(step.say):
            problems.append(f"{name}: prompt {step.say!r} is not in the catalog")
        if step.wait is not None and step.parse is None:
            problems.append(f"{name}: waits but has no parser")
        if step.wait is None and not step.end and step.route is None and not step.exits.get("next"):
            problems.append(f"{name}: neither waits, routes nor ends")
    problems += [f"retry prompt {k!r} is not in the catalog" for k in flow.retry_say.values() if not has_prompt(k)]
    if problems:
        raise FlowError(f"flow {flow.name}: " + "; ".join(problems))


def _prompt(step: Step, state: State, ctx: Ctx) -> list[Say]:
    if step.say is None:
        return []
    if isinstance(step.say, str):
        return [Say(step.say)]
    return list(step.say(state, ctx))


def _enter(flow: Flow, state: State, node: str, ctx: Ctx, effects: list[Effect]) -> State:
    """Move to `node` and follow routing steps until one waits or ends."""
    for _ in range(MAX_HOPS):
        if node != state.node:
            state.tries = 0
        state.node = node
        step = flow[node]
        effects += _prompt(step, state, ctx)
        if step.end:
            effects.append(Hangup() if flow.channel == "voice" else End())
            return state
        if step.wait is not None:
            effects.append(step.wait)
            return state
        outcome = step.route(state, ctx) if step.route else "next"
        target = _exit(step.exits[outcome])
        if target.do:
            effects += target.do(state, {}, ctx)
        node = target.to
    raise FlowError(f"flow {flow.name}: more than {MAX_HOPS} steps without waiting, at {node!r}")


def start(flow: Flow, lang: str, ctx: Ctx, data: dict[str, Any] | None = None,
          node: str | None = None) -> tuple[State, list[Effect]]:
    """Begin a conversation at the flow's start (or at `node`)."""
    effects: list[Effect] = []
    state = State(node="", lang=lang, data=dict(data or {}))
    return _enter(flow, state, node or flow.start, ctx, effects), effects


def run_step(flow: Flow, state: State, inbound: Inbound, ctx: Ctx) -> tuple[State, list[Effect]]:
    """Take one caller answer in `state` and return the new state and the effects.

    Pure: `state` is not changed; a copy is returned.
    """
    state = replace(state, data=copy.deepcopy(state.data))
    effects: list[Effect] = []
    step = flow[state.node]
    if step.parse is None:      # a step that does not wait got input: say it again
        return _enter(flow, state, state.node, ctx, effects), effects
    outcome, values = step.parse(inbound, state, ctx)
    if outcome in step.exits:
        target = _exit(step.exits[outcome])
        if target.do:
            effects += target.do(state, values, ctx)
        if target.to == state.node:
            state.tries = 0
        return _enter(flow, state, target.to, ctx, effects), effects
    if outcome == "repeat":
        return _enter(flow, state, state.node, ctx, effects), effects
    if outcome == "back" and step.back:
        return _enter(flow, state, step.back, ctx, effects), effects
    # anything else is a wrong answer or silence: explain, ask again, and give up politely
    state.tries += 1
    if state.tries >= MAX_TRIES:
        return _enter(flow, state, flow.goodbye, ctx, effects), effects
    effects.append(Say(flow.retry_say.get(outcome, flow.retry_say.get("bad", "errors.bad")), values))
    return _enter(flow, state, state.node, ctx, effects), effects


def say(key: str, **values: Callable[[State, Ctx], Any]) -> Prompt:
    """A prompt of one key whose variables are computed from the state and context."""
    def prompt(state: State, ctx: Ctx) -> list[Say]:
        return [Say(key, {name: fn(state, ctx) for name, fn in values.items()})]
    return prompt


def goto(outcome: str) -> Router:
    """A router that always takes `outcome` (a step that only speaks, then moves on)."""
    return lambda state, ctx: outcome
