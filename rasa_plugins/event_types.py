"""Rasa's event-type lookup, cached: the same classes, found in a dict instead of a walk of the class tree.

Rasa 3.6 turns every stored event back into an object with `Event.resolve_by_type(type_name)`, which walks
`all_subclasses(Event)` (about 30 classes, each checked with `inspect.isabstract`) for every single event.
Every message reads its conversation's tracker from the tracker store, so a 20-turn conversation pays that
walk ~150 times per message: about a third of the tracker read, and 4–5 ms of Rasa's CPU per message on
the 2-core development machine (docs/benchmarks.md "Knowledge-base answers").

`install()` replaces it with a lookup in a {type name: class} map built from the same walk, in the same
order (the first class with a name wins, as in Rasa's loop). A name the map does not know rebuilds it once
(an event class defined after the first lookup), then behaves exactly as Rasa does: `"topic"` -> None, else
the default, else the same ValueError. Idempotent; installed with the other Rasa patches when the
supportbot featurizer is imported (rasa_plugins/remote_action.py).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text


def _type_map(event_cls: Any, all_subclasses: Any) -> Dict[Text, Any]:
    found: Dict[Text, Any] = {}
    for cls in all_subclasses(event_cls):
        found.setdefault(cls.type_name, cls)
    return found


def install() -> bool:
    """Patch `Event.resolve_by_type` once; False when this Rasa has no such method (nothing patched)."""
    try:
        import rasa.shared.utils.common as common
        from rasa.shared.core.events import Event
    except ImportError:
        return False
    if getattr(Event, "_supportbot_cached_types", False):
        return True
    if not hasattr(Event, "resolve_by_type"):
        return False
    cache: Dict[Text, Dict[Text, Any]] = {"types": {}}

    def resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
        cls = cache["types"].get(type_name)
        if cls is None:
            cache["types"] = _type_map(Event, common.all_subclasses)
            cls = cache["types"].get(type_name)
        if cls is not None:
            return cls
        if type_name == "topic":
            return None  # as Rasa: old TopicSet events
        if default is not None:
            return default
        raise ValueError(f"Unknown event name '{type_name}'.")

    Event.resolve_by_type = staticmethod(resolve_by_type)
    Event._supportbot_cached_types = True
    return True
