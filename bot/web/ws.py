"""The widget's WebSocket: one connection per browser tab, speaking docs/websocket-protocol.md.

A connection checks the page's Origin and the open-socket cap of its address, must prove or create
the customer session (`hello`, once) within `ws_hello_timeout_s`, replays
the conversation's history, then handles events. Customer messages are processed one at a time in
arrival order by a per-connection worker, so a slow answer never stops the tab from sending
feedback or pings, and never holds up any other connection. Events for the conversation that
happen elsewhere (an agent's message, the handoff queue, another tab) arrive through the hub.
Every bad frame gets an `error` event; nothing a client sends can crash the service. Every frame
is weighed against the session's and the address's budgets first (bot/web/limits.py), and what a
connection keeps (turns it has sent, messages waiting) is bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot import traffic
from bot.buttons import click_text, pick
from bot.channel import message_event, public_turn
from bot.errors import (
    IdentityInvalid,
    InvalidJson,
    InvalidRequest,
    MessageTooLong,
    OriginNotAllowed,
    ServiceError,
    TooManyConnections,
    UnknownSession,
    error_event,
)
from bot.text_rules import bad_character

log = logging.getLogger(__name__)
FORWARDED = {"message", "typing", "agent_joined", "agent_left", "handoff", "closed"}
MAX_SENT_TURNS = 2000  # turn ids a connection remembers having sent (older ones may be sent twice)


def for_widget(event: dict) -> dict:
    """A hub event as the customer may see it: public turn fields only, the agent by name only."""
    if event["type"] == "message":
        return message_event(event, **{k: event[k] for k in ("notice", "reply_to") if k in event})
    out = {k: v for k, v in event.items() if k != "agent"}
    if isinstance(event.get("agent"), dict):
        out["agent_name"] = event["agent"].get("name")
    return out


def origin_allowed(origin: str | None, allowed: list[str], host: str | None) -> bool:
    """Browsers always send Origin on WebSockets; pages on the service's own host are always allowed."""
    if not origin:
        return True  # not a browser (server, bench): the Origin check guards browsers only
    if "*" in allowed:
        return True
    origin = origin.rstrip("/").lower()
    return origin in {a.rstrip("/").lower() for a in allowed} or urlsplit(origin).netloc == (host or "").lower()


class WidgetConnection:
    def __init__(self, ws: WebSocket):
        self.ws = ws
        state = ws.app.state
        self.services, self.channel, self.limits, self.sessions = (state.services, state.channel, state.limits,
                                                                   state.sessions)
        self.settings = self.services.settings
        self.costs = state.frame_costs
        self.ip = state.client_address(ws.client.host if ws.client else None, ws.headers)
        self.session: dict | None = None
        self.conversation_id: str | None = None
        self._send_lock = asyncio.Lock()
        self._sent_turns: dict[int, None] = {}  # insertion-ordered, trimmed to MAX_SENT_TURNS
        self._marked: set[str] = set()  # reasons this connection's session was marked as not a customer
        self._inbox: asyncio.Queue = asyncio.Queue(maxsize=max(1, self.settings.ws_max_pending_messages))
        self._sub: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._relay_task: asyncio.Task | None = None

    def _remember(self, turn_ids) -> None:
        for turn_id in turn_ids:
            self._sent_turns[turn_id] = None
        while len(self._sent_turns) > MAX_SENT_TURNS:
            del self._sent_turns[next(iter(self._sent_turns))]

    async def send(self, event: dict) -> None:
        if event.get("type") in ("message", "ack") and isinstance(event.get("turn_id"), int):
            self._remember([event["turn_id"]])
        if event.get("type") == "ack" and event.get("conversation_id") != self.conversation_id:
            await self._follow(event["conversation_id"])
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                try:
                    await self.ws.send_json(event)
                except (WebSocketDisconnect, RuntimeError):
                    pass  # the tab went away; its messages are stored, history replays them
                except (TypeError, ValueError) as exc:  # e.g. text that cannot be encoded: never fatal
                    log.error("could not send a %s event: %s", event.get("type"), exc)

    async def run(self) -> None:
        await self.ws.accept()
        if not origin_allowed(self.ws.headers.get("origin"), self.settings.allowed_origins,
                              self.ws.headers.get("host")):
            await self.send(error_event(OriginNotAllowed(
                "This site is not allowed to embed the chat; the operator can add it to SUPPORTBOT_ALLOWED_ORIGINS.")))
            await self.ws.close(code=1008)
            return
        sockets = self.ws.app.state.sockets
        if not sockets.acquire(self.ip):
            await self.send(error_event(TooManyConnections(
                f"Too many chat windows are open from your network (the limit is {sockets.max}); close some "
                "and try again.")))
            await self.ws.close(code=1013)
            return
        self._worker = asyncio.ensure_future(self._work())
        deadline = asyncio.get_running_loop().time() + self.settings.ws_hello_timeout_s
        try:
            while True:
                if self.session is None:
                    left = deadline - asyncio.get_running_loop().time()
                    try:
                        message = await asyncio.wait_for(self.ws.receive(), max(left, 0.01))
                    except TimeoutError:
                        await self.send(error_event(InvalidRequest(
                            'Send {"type": "hello"} first, within a few seconds of connecting.')))
                        await self.ws.close(code=1008)
                        return
                else:
                    message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is None:
                    try:
                        self._charge_ip(None)
                        raise InvalidJson("Frames must be text (JSON), not binary.")
                    except ServiceError as exc:
                        await self.send(error_event(exc))
                    continue
                await self._on_frame(message["text"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sockets.release(self.ip)
            for task in (self._worker, self._relay_task):
                if task is not None:
                    task.cancel()
            if self._sub is not None:
                self.services.hub.unsubscribe(self.conversation_id, self._sub)

    def _charge_ip(self, kind: Any) -> None:
        self.limits.ip.hit(self.ip, self.costs(kind))

    async def _on_frame(self, raw: str) -> None:
        event: Any = None
        try:
            try:  # frames are capped by uvicorn's ws_max_size (1 MiB), so parsing first is cheap
                event = json.loads(raw)
            except (ValueError, RecursionError):
                self._charge_ip(None)
                raise InvalidJson('Each frame must be a JSON object such as {"type": "message", "text": "hi"}.') from None
            kind = event.get("type") if isinstance(event, dict) else None
            self._charge_ip(kind)
            if self.session is not None:
                self.limits.session.hit(self.session["session_id"], self.costs(kind))
            if not isinstance(kind, str):
                raise InvalidRequest('Each frame must be a JSON object with a "type"; see docs/websocket-protocol.md.')
            if len(raw) > self.settings.max_message_chars * 6 + 4096:
                raise MessageTooLong(f"That message is far too long; the limit is {self.settings.max_message_chars} "
                                     "characters. Please shorten it.", max_chars=self.settings.max_message_chars)
            await self._dispatch(event)
        except ServiceError as exc:
            await self._not_a_customer(exc)
            await self.send(error_event(exc, **self._echo(event)))
        except Exception as exc:  # noqa: BLE001 - reported to the client, logged, never fatal
            await self.send(error_event(exc, **self._echo(event)))

    async def _not_a_customer(self, exc: ServiceError) -> None:
        """A rate-limited or invalid frame: the session's conversations leave the analytics (bot/traffic.py)."""
        reason = traffic.reason_for(exc)
        if reason is None or self.session is None or reason in self._marked:
            return
        self._marked.add(reason)
        try:
            await self.channel.db(traffic.mark_session, self.services.db, self.session["session_id"], reason)
        except Exception as mark_exc:  # noqa: BLE001 - the customer's error frame matters more
            log.warning("could not mark session %s as %s: %s", self.session["session_id"], reason, mark_exc)

    @staticmethod
    def _echo(event: Any) -> dict:
        """The frame's client_msg_id for its error, when it is one we can send back (a short valid string)."""
        msg_id = event.get("client_msg_id") if isinstance(event, dict) else None
        if isinstance(msg_id, str) and 0 < len(msg_id) <= 64 and bad_character(msg_id) is None:
            return {"client_msg_id": msg_id}
        return {}

    async def _dispatch(self, event: dict) -> None:
        kind = event["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "hello":  # weighed like a message: a new session is a write
            await self._hello(event.get("token"), event)
            return
        if self.session is None:
            raise InvalidRequest('Send {"type": "hello"} first (with your token, if you have one).')
        if kind in ("message", "button"):
            try:
                self._inbox.put_nowait(event)
            except asyncio.QueueFull:
                raise InvalidRequest("Too many messages are waiting for an answer; please wait a moment.") from None
        elif kind == "feedback":
            await self.send(await self.channel.feedback(self.session, event.get("turn_id"), event.get("value")))
        elif kind == "csat":
            await self.send(await self.channel.csat(self.session, event.get("conversation_id") or self.conversation_id,
                                                    event.get("score")))
        elif kind == "end":
            await self.send(await self.channel.end(self.session, self.conversation_id))
        elif kind == "handoff":
            await self.send(await self.channel.handoff(self.session, self.conversation_id, "customer"))
        elif kind == "contact":
            await self.send(await self.channel.leave_contact(self.session, self.conversation_id, event.get("email")))
        elif kind == "typing":
            self.services.hub.publish(self.conversation_id, {"type": "typing", "speaker": "customer",
                                                             "on": bool(event.get("on"))})
        else:
            raise InvalidRequest(f"Unknown event type {kind!r}; see docs/websocket-protocol.md.")

    async def _hello(self, token: Any, event: dict) -> None:
        new_token, session = None, None
        verified = await self._verify_identity(event)
        if token:
            try:
                session = await self.channel.db(self.sessions.resolve_widget_token, token)
            except UnknownSession as exc:
                await self.send(error_event(exc))
        if session is None:
            new_token, session = await self.channel.db(self.sessions.create_widget_session,
                                                       self.ws.headers.get("origin"))
        conv = await self.channel.db(self.services.store.current_conversation, session["session_id"])
        if verified is not None:
            await self.channel.db(self.services.store.link_identity, session["session_id"], conv["conversation_id"],
                                  verified)
        # this connection's identity only: a later hello without a valid signature is anonymous again
        self.session = {**session, "verified_user_id": verified}
        await self._follow(conv["conversation_id"])
        await self.send({"type": "session", "session_id": self.session["session_id"],
                         "conversation_id": conv["conversation_id"], "status": conv["status"],
                         **({"token": new_token} if new_token else {}),
                         **({"verified": True} if verified is not None else {})})
        turns = await self.channel.db(self.services.store.history, conv["conversation_id"],
                                      self.settings.history_limit)
        self._remember(t["turn_id"] for t in turns)
        await self.send({"type": "history", "conversation_id": conv["conversation_id"], "status": conv["status"],
                         "turns": [public_turn(t) for t in turns]})

    async def _verify_identity(self, event: dict) -> str | None:
        """The host site's user id when `hello` carries one whose HMAC verifies; an error event otherwise."""
        if event.get("user_id") is None and event.get("user_hash") is None:
            return None
        try:
            return self.ws.app.state.identity.verify(self.ws.headers.get("origin"), event.get("user_id"),
                                                     event.get("user_hash"))
        except IdentityInvalid as exc:
            await self.send(error_event(exc))
            return None

    async def _follow(self, conversation_id: str) -> None:
        """Listen to the hub for this conversation (the session may move on to a new one)."""
        hub = self.services.hub
        if self._sub is not None:
            hub.unsubscribe(self.conversation_id, self._sub)
            self._relay_task.cancel()
        self.conversation_id = conversation_id
        self._sub = hub.subscribe(conversation_id)
        self._relay_task = asyncio.ensure_future(self._relay(self._sub))

    async def _relay(self, sub: asyncio.Queue) -> None:
        while True:
            event = await sub.get()
            kind = event.get("type")
            if kind not in FORWARDED or (kind == "typing" and event.get("speaker") == "customer"):
                continue
            if kind == "message" and event.get("turn_id") in self._sent_turns:
                continue  # this tab already has it (its own message or the answer it waited for)
            await self.send(for_widget(event))

    async def _work(self) -> None:
        """Answer this tab's messages one at a time, in the order they were typed."""
        while True:
            event = await self._inbox.get()
            text, payload = event.get("text"), None
            try:
                if event["type"] == "button":  # Rasa gets the stored payload of an offered button, or text
                    button = pick(await self.channel.db(self.services.store.offered_buttons, self.conversation_id),
                                  event)
                    text, payload = ((button.get("title"), button.get("payload")) if button is not None
                                     else (click_text(event), None))
                await self.channel.handle_message(self.session, text, event.get("client_msg_id"),
                                                  rasa_text=payload, emit=self.send)
            except Exception as exc:  # noqa: BLE001 - every failure becomes an error event
                await self.send(error_event(exc, **self._echo(event)))


async def widget_socket(ws: WebSocket) -> None:
    await WidgetConnection(ws).run()
