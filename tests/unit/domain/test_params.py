from __future__ import annotations

import pytest

from app.domain.params import PARAMS, clean_params, parse_stop


def test_unset_parameters_are_not_sent() -> None:
    assert clean_params({"temperature": None, "stop": "", "seed": None, "top_k": 40}) == {
        "top_k": 40
    }


def test_values_are_coerced_to_wire_types() -> None:
    cleaned = clean_params({"temperature": "0.7", "max_tokens": 256.0, "reasoning_effort": "low"})
    assert cleaned == {"temperature": 0.7, "max_tokens": 256, "reasoning_effort": "low"}
    assert isinstance(cleaned["max_tokens"], int)


def test_out_of_range_value_is_rejected_with_the_label() -> None:
    with pytest.raises(ValueError, match="Temperature must be between 0 and 2"):
        clean_params({"temperature": 3})


def test_unknown_provider_parameters_pass_through() -> None:
    assert clean_params({"mirostat_target": 5.0}) == {"mirostat_target": 5.0}


def test_stop_sequences_accept_escapes_and_unicode() -> None:
    assert parse_stop(r"\n\n, END, é\,x,  ") == ["\n\n", "END", "é,x"]
    assert clean_params({"stop": "###"}) == {"stop": ["###"]}


def test_more_than_four_stop_sequences_is_an_error() -> None:
    with pytest.raises(ValueError, match="At most 4"):
        clean_params({"stop": "a,b,c,d,e"})


def test_every_parameter_has_help_and_a_unique_name() -> None:
    names = [spec.name for spec in PARAMS]
    assert len(names) == len(set(names))
    assert all(spec.help for spec in PARAMS)


def test_each_tab_checks_its_own_ranges_and_chat_keeps_its_own() -> None:
    from app.domain.params import AUDIO_PARAMS, EMBEDDING_PARAMS, JSON_PARAMS

    assert clean_params({"temperature": 1.5}) == {"temperature": 1.5}
    with pytest.raises(ValueError, match="Temperature must be between 0 and 1"):
        clean_params({"temperature": 1.5}, AUDIO_PARAMS)
    assert clean_params({"language": "en", "prompt": ""}, AUDIO_PARAMS) == {"language": "en"}
    assert clean_params({"dimensions": "256"}, EMBEDDING_PARAMS) == {"dimensions": 256}
    with pytest.raises(ValueError, match="Encoding must be one of float, base64"):
        clean_params({"encoding_format": "int8"}, EMBEDDING_PARAMS)
    assert {spec.name for spec in JSON_PARAMS} >= {"temperature", "max_tokens", "seed"}
    assert "stop" not in {spec.name for spec in JSON_PARAMS}
