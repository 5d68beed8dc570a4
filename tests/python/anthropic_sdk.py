#!/usr/bin/env python3
"""Drive a running Switchyard with the official Anthropic Python SDK.

The gateway fronts a fake upstream (switchyard-testkit) that answers
"echo: <last user text>", calls get_weather when tools are offered and the
text says "weather", and counts whitespace words as tokens.

Environment:
  SWITCHYARD_BASE_URL  e.g. http://127.0.0.1:PORT (required; no /v1)
  OPENAI_MODEL         a model served by an OpenAI-format provider (translated)
  ANTHROPIC_MODEL      a model served by an Anthropic provider (passthrough)

Prints one line per check and a final "N passed, M failed".
"""

import os
import sys
import traceback

import anthropic

BASE_URL = os.environ.get("SWITCHYARD_BASE_URL")
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-x")
PROMPT = "hello there gateway"
EXPECTED = "echo: hello there gateway"
TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    }
]


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_eq(actual, expected, what):
    expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def create_translated(client):
    msg = client.messages.create(
        model=OPENAI_MODEL,
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": PROMPT}],
    )
    expect_eq(msg.type, "message", "type")
    expect_eq(msg.role, "assistant", "role")
    expect_eq(msg.content[0].type, "text", "content[0].type")
    expect_eq(msg.content[0].text, EXPECTED, "content[0].text")
    expect_eq(msg.stop_reason, "end_turn", "stop_reason")
    expect_eq(msg.usage.output_tokens, 4, "usage.output_tokens")
    expect_eq(msg.usage.input_tokens, 5, "usage.input_tokens")


def stream_translated(client):
    with client.messages.stream(
        model=OPENAI_MODEL, max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expect_eq(text, EXPECTED, "joined text_stream")
    expect_eq(final.content[0].text, EXPECTED, "final message text")
    expect_eq(final.stop_reason, "end_turn", "final stop_reason")
    expect_eq(final.usage.output_tokens, 4, "final usage.output_tokens")


def tools_translated(client):
    msg = client.messages.create(
        model=OPENAI_MODEL,
        max_tokens=100,
        tools=TOOLS,
        messages=[{"role": "user", "content": "what is the weather in Paris"}],
    )
    expect_eq(msg.stop_reason, "tool_use", "stop_reason")
    uses = [b for b in msg.content if b.type == "tool_use"]
    expect_eq(len(uses), 1, "tool_use blocks")
    expect_eq(uses[0].name, "get_weather", "tool name")
    expect_eq(uses[0].input, {"city": "Paris", "unit": "celsius"}, "tool input")
    follow = client.messages.create(
        model=OPENAI_MODEL,
        max_tokens=100,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "what is the weather in Paris"},
            {"role": "assistant", "content": [u.model_dump() for u in msg.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "18C"}],
            },
        ],
    )
    expect_eq(follow.content[0].text, "tool said: 18C", "answer after the tool result")


def stream_tools_translated(client):
    with client.messages.stream(
        model=OPENAI_MODEL,
        max_tokens=100,
        tools=TOOLS,
        messages=[{"role": "user", "content": "weather in Paris and Rome, parallel"}],
    ) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    expect_eq([u.input["city"] for u in uses], ["Paris", "Rome"], "streamed tool inputs")
    expect_eq(final.stop_reason, "tool_use", "streamed stop_reason")


def count_tokens(client):
    res = client.messages.count_tokens(
        model=ANTHROPIC_MODEL, messages=[{"role": "user", "content": PROMPT}]
    )
    expect_eq(res.input_tokens, 3, "input_tokens")


def passthrough(client):
    msg = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
    )
    expect_eq(msg.content[0].text, EXPECTED, "passthrough text")
    expect_eq(msg.model, ANTHROPIC_MODEL, "model")


def unknown_model(client):
    try:
        client.messages.create(
            model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    except anthropic.NotFoundError as err:
        expect_eq(err.body["error"]["type"], "not_found_error", "error.type")
        return
    raise CheckFailed("no error for an unknown model")


CHECKS = [
    ("messages.create via OpenAI upstream", create_translated),
    ("messages.stream via OpenAI upstream", stream_translated),
    ("tools round trip via OpenAI upstream", tools_translated),
    ("streamed parallel tools via OpenAI upstream", stream_tools_translated),
    ("count_tokens", count_tokens),
    ("messages.create passthrough", passthrough),
    ("unknown model -> 404 not_found_error", unknown_model),
]


def main():
    if not BASE_URL:
        print("SWITCHYARD_BASE_URL is not set", file=sys.stderr)
        return 2
    client = anthropic.Anthropic(base_url=BASE_URL, api_key="sk-test", max_retries=0, timeout=30)
    passed = failed = 0
    for name, check in CHECKS:
        try:
            check(client)
        except CheckFailed as err:
            failed += 1
            print(f"FAIL {name}: {err}")
        except Exception as err:  # noqa: BLE001 - report anything, keep going
            failed += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}")
            traceback.print_exc(file=sys.stderr)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
