"""The customer's language: each message labelled by the detector, the conversation by their majority,
stored (real SQLite file), and sent to Rasa with every message of the conversation."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import build_services
from bot.conversations import majority_language
from bot.language import message_language, reply_language
from bot.sessions import Sessions
from core.settings import Settings
from core.store.models import Conversation, Turn

MIXED = [  # (message, its language): a Chinese customer who also types English words and short replies
    ("你好，我的卡丢了", "zh"),
    ("ok", None),
    ("I think it was stolen on the train yesterday", "en"),
    ("能帮我冻结吗？", "zh"),
    ("4821", None),
    ("谢谢你的帮助", "zh"),
]


def test_messages_are_labelled_by_the_detector():
    for text, language in MIXED:
        assert message_language(text) == language, text
    assert message_language("Hola, perdí mi tarjeta de crédito") == "es"  # stored as detected
    assert reply_language("es") == "en" and reply_language("zh") == "zh" and reply_language(None) == "en"


def test_majority_breaks_ties_by_the_earlier_language():
    assert majority_language([]) is None
    assert majority_language([("en", 2, 1), ("zh", 3, 0)]) == "zh"
    assert majority_language([("en", 2, 0), ("zh", 2, 3)]) == "en"


def test_a_mixed_conversation_is_stored_per_message_and_by_majority(tmp_path):
    services = build_services(Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}"))
    services.db.migrate()
    _, session = Sessions(services.store, 30).create_widget_session(None)
    seen = []
    for i, (text, _) in enumerate(MIXED):
        turn = services.store.append_customer_turn(session["session_id"], "widget", text, f"m{i}",
                                                   language=message_language(text))
        seen.append(turn["conversation_language"])
    # the first message decides; an English one ties nothing away from it; short replies tell nothing
    assert seen == ["zh", None, "zh", "zh", None, "zh"]
    conv_id = turn["conversation_id"]
    with services.db.session() as s:
        stored = s.execute(select(Turn.text, Turn.language).where(Turn.conversation_id == conv_id)
                           .order_by(Turn.seq)).all()
        assert [tuple(r) for r in stored] == MIXED
        assert s.get(Conversation, conv_id).language == "zh"
    assert services.store.get_conversation(conv_id)["language"] == "zh"
    services.db.dispose()


def test_english_takes_over_when_most_messages_are_english(tmp_path):
    services = build_services(Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}"))
    services.db.migrate()
    _, session = Sessions(services.store, 30).create_widget_session(None)
    texts = ["你好", "Sorry, can I write in English instead?", "My card payment was declined twice today"]
    labels = [services.store.append_customer_turn(session["session_id"], "widget", t, None,
                                                  language=message_language(t))["conversation_language"]
              for t in texts]
    assert labels == ["zh", "zh", "en"]  # a tie keeps Chinese; the third message makes English the majority
    services.db.dispose()
