"""The response selector's int8 screen: float32's encode only where it can change the answer.

On a typed message the response selector's proposal decides the reply only near two thresholds: the
serving model's `learnt_min_score` (a learnt reply first) and `response_min_score` (a learnt reply when
the KB is not confident). Everywhere else, mostly a KB answer whose best learnt reply scores far below
both, the float32 encode (3–5 ms CPU on the 3-layer first model, most of the action's cost) only
decorates the answer's annotation. So the action scores the context first with the model's int8 copy
(`encoder-onnx-int8/`, about 2.5× cheaper) against the same float32 bank, and runs the float32 encode
only when `settles` says the screen's score could have decided otherwise.

Invariant: the decision — which kind of reply, and which learnt reply — is float32's whenever the int8
top score is within `response_screen_margin` of float32's. `settles` is true only when the decision is
the same with the screened score moved by −margin, 0 and +margin (the decision changes with the score
only at the two thresholds, and crossing either upward leads to a learnt reply), and that decision is
not a learnt reply (whose text float32 must pick: int8 changes the top reply for about one context in
six). How far the two top scores differ on the held-out logs, and so which margin holds, is measured
by `supportbot bench response-precision` (docs/benchmarks.md, "The response selector's int8 screen").
A settled answer's annotation lists the screen's candidates and says so (`candidates_screened`).
"""

from __future__ import annotations

from actions.knowledge import Thresholds, Understanding, decide


def settles(understanding: Understanding, hits: list[dict], best: dict | None, guided: bool, screened: dict,
            thresholds: Thresholds, margin: float) -> bool:
    """True when float32's selection cannot change the decision made with the `screened` one (see above)."""
    if margin <= 0.0 or not screened.get("screened"):
        return False
    score = float(screened.get("score", 0.0))
    kinds = {decide(understanding, hits, best, guided, {**screened, "score": score + delta}, thresholds).kind
             for delta in (-margin, 0.0, margin)}
    return len(kinds) == 1 and "responses" not in kinds
