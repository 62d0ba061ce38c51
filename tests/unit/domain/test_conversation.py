from __future__ import annotations

from app.domain.conversation import Conversation, Role, TurnStatus


def test_messages_start_with_the_system_prompt_when_set() -> None:
    chat = Conversation(system_prompt="Be brief.")
    chat.add_user("Hi")
    assert chat.api_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert Conversation(system_prompt="  ").api_messages() == []


def test_streaming_and_empty_replies_are_not_sent_but_partial_ones_are() -> None:
    chat = Conversation()
    chat.add_user("one")
    stopped = chat.start_reply()
    stopped.content, stopped.status = "partial answer", TurnStatus.STOPPED
    chat.add_user("two")
    failed = chat.start_reply()
    failed.status = TurnStatus.FAILED
    chat.add_user("three")
    chat.start_reply()
    assert chat.api_messages() == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "partial answer"},
        {"role": "user", "content": "two"},
        {"role": "user", "content": "three"},
    ]


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
