from __future__ import annotations

import itertools
import json

from app.domain.conversation import (
    Conversation,
    Role,
    TurnImage,
    TurnStatus,
    turns_from_json,
    turns_to_json,
)
from app.domain.metrics import RunMetrics


def test_messages_start_with_the_system_prompt_when_set() -> None:
    chat = Conversation(system_prompt="Be brief.")
    chat.add_user("Hi")
    assert chat.api_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert Conversation(system_prompt="  ").api_messages() == []


def _reply(chat: Conversation, content: str, status: TurnStatus) -> None:
    turn = chat.start_reply()
    turn.content, turn.status = content, status


def test_stopped_replies_are_sent_as_seen_and_failed_exchanges_are_left_out() -> None:
    chat = Conversation()
    chat.add_user("one")
    _reply(chat, "partial answer", TurnStatus.STOPPED)
    chat.add_user("a 64k-character prompt")
    _reply(chat, "", TurnStatus.FAILED)
    chat.add_user("dropped halfway")
    _reply(chat, "half of it", TurnStatus.FAILED)
    chat.add_user("stopped before any text")
    _reply(chat, "", TurnStatus.STOPPED)
    chat.add_user("hi")
    chat.start_reply()
    assert chat.api_messages() == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "partial answer"},
        {"role": "user", "content": "hi"},
    ]
    # Nothing the user saw is gone: the failed turns stay, with their text.
    assert [t.content for t in chat.turns][2:6] == [
        "a 64k-character prompt",
        "",
        "dropped halfway",
        "half of it",
    ]


def test_a_failed_last_turn_is_sent_again_when_the_user_resends_it() -> None:
    chat = Conversation()
    chat.add_user("q1")
    _reply(chat, "a1", TurnStatus.COMPLETE)
    chat.add_user("q2")
    _reply(chat, "", TurnStatus.FAILED)
    chat.drop_replies_after_last_user()
    chat.start_reply()
    assert [m["content"] for m in chat.api_messages()] == ["q1", "a1", "q2"]


def test_the_history_sent_always_alternates() -> None:
    statuses = [TurnStatus.COMPLETE, TurnStatus.STOPPED, TurnStatus.FAILED]
    chat = Conversation(system_prompt="sys")
    for n in range(12):
        chat.add_user(f"q{n}")
        _reply(chat, f"a{n}" if n % 2 else "", statuses[n % 3])
    chat.add_user("last")
    chat.start_reply()
    roles = [m["role"] for m in chat.api_messages()]
    assert roles[0] == "system" and roles[-1] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles[1:]))


def test_regenerate_drops_only_the_replies_after_the_last_user_turn() -> None:
    chat = Conversation()
    chat.add_user("q1")
    chat.start_reply().content = "a1"
    chat.add_user("q2")
    chat.start_reply().content = "a2"
    assert chat.drop_replies_after_last_user() == 1
    assert [t.content for t in chat.turns] == ["q1", "a1", "q2"]


def test_edit_last_takes_back_the_last_exchange() -> None:
    chat = Conversation()
    chat.add_user("q1")
    chat.start_reply().content = "a1"
    assert chat.pop_last_exchange() == "q1"
    assert chat.turns == []
    assert chat.pop_last_exchange() is None
    assert chat.last_user_index() is None


def test_roles_serialise_as_openai_roles() -> None:
    assert Role.USER.value == "user" and Role.ASSISTANT.value == "assistant"


def test_images_travel_with_their_turn_before_or_after_the_text() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    chat = Conversation()
    chat.add_user("What is this?", [TurnImage("cat.png", image)])
    reply = chat.start_reply()
    reply.content, reply.status = "A cat.", TurnStatus.COMPLETE
    chat.add_user("What colour?")

    first, answer, follow_up = chat.api_messages()
    assert first == {
        "role": "user",
        "content": [image, {"type": "text", "text": "What is this?"}],
    }
    assert answer == {"role": "assistant", "content": "A cat."}
    assert follow_up == {"role": "user", "content": "What colour?"}
    chat.images_first = False
    assert chat.api_messages()[0]["content"] == [{"type": "text", "text": "What is this?"}, image]
    assert chat.turns[0].image_names == ["cat.png"]


def test_images_whose_data_is_not_at_hand_are_left_out_of_the_request() -> None:
    chat = Conversation()
    chat.add_user("What is this?", [TurnImage("cat.png", None, "/gone/cat.png")])
    assert chat.api_messages() == [{"role": "user", "content": "What is this?"}]


def test_turns_round_trip_through_json_without_image_data() -> None:
    embedded = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    linked = {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}
    chat = Conversation()
    chat.add_user(
        "Compare them.",
        [
            TurnImage("cat.png", embedded, "/photos/cat.png", "high"),
            TurnImage("a.jpg", linked),
            TurnImage("pasted image.png", embedded),
        ],
    )
    reply = chat.start_reply()
    reply.content, reply.reasoning, reply.status = "Both cats.", "Hmm.", TurnStatus.COMPLETE
    reply.finish_reason = "stop"
    reply.metrics = RunMetrics(total_s=1.5, completion_tokens=3, image_count=3)
    chat.add_user("And now?")
    failed = chat.start_reply()
    failed.status, failed.error = TurnStatus.FAILED, "429 Too many requests"

    data = json.loads(json.dumps(turns_to_json(chat.turns)))
    assert "base64" not in json.dumps(data)
    turns = turns_from_json(data)

    assert [t.content for t in turns] == [t.content for t in chat.turns]
    assert turns[1].reasoning == "Hmm." and turns[1].finish_reason == "stop"
    assert turns[1].metrics == reply.metrics and turns[3].error == "429 Too many requests"
    assert [t.status for t in turns] == [t.status for t in chat.turns]
    assert turns[0].images == [
        TurnImage("cat.png", None, "/photos/cat.png", "high"),
        TurnImage("a.jpg", linked),
        TurnImage("pasted image.png"),
    ]


def test_a_reply_still_streaming_comes_back_stopped() -> None:
    chat = Conversation()
    chat.add_user("Hi")
    chat.start_reply().content = "Hel"
    turns = turns_from_json(turns_to_json(chat.turns))
    assert turns[1].status is TurnStatus.STOPPED and turns[1].content == "Hel"
