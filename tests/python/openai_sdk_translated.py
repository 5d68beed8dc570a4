#!/usr/bin/env python3
"""The official OpenAI Python SDK against non-OpenAI upstreams through Switchyard.

Chat Completions against an Anthropic-format provider, and the Responses API
against an OpenAI-format provider, streamed and not, with tools.

Environment: SWITCHYARD_BASE_URL (http://127.0.0.1:PORT/v1), ANTHROPIC_MODEL, OPENAI_MODEL.
Prints one line per check and a final "N passed, M failed".
"""

import json
import os
import sys
import traceback

import openai

BASE_URL = os.environ.get("SWITCHYARD_BASE_URL")
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-x")
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
PROMPT = "hello there gateway"
EXPECTED = "echo: hello there gateway"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
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


def chat_anthropic(client):
    res = client.chat.completions.create(
        model=ANTHROPIC_MODEL, messages=[{"role": "user", "content": PROMPT}]
    )
    expect_eq(res.choices[0].message.content, EXPECTED, "content")
    expect_eq(res.choices[0].finish_reason, "stop", "finish_reason")
    expect_eq(res.usage.completion_tokens, 4, "usage.completion_tokens")


def chat_stream_anthropic(client):
    stream = client.chat.completions.create(
        model=ANTHROPIC_MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, roles, finish, usage = [], [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.role:
                roles.append(choice.delta.role)
            if choice.delta.content:
                text.append(choice.delta.content)
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    expect_eq("".join(text), EXPECTED, "joined deltas")
    expect_eq(roles, ["assistant"], "roles")
    expect_eq(finish, ["stop"], "finish reasons")
    expect(usage is not None and usage.completion_tokens == 4, f"usage chunk: {usage!r}")


def chat_stream_tools_anthropic(client):
    stream = client.chat.completions.create(
        model=ANTHROPIC_MODEL,
        messages=[{"role": "user", "content": "weather in Paris and Rome, parallel"}],
        tools=TOOLS,
        stream=True,
    )
    calls, finish = {}, []
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["args"] += tc.function.arguments
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    expect_eq(finish, ["tool_calls"], "finish reasons")
    expect_eq([calls[i]["name"] for i in sorted(calls)], ["get_weather", "get_weather"], "names")
    cities = [json.loads(calls[i]["args"])["city"] for i in sorted(calls)]
    expect_eq(cities, ["Paris", "Rome"], "arguments")
    expect(all(c["id"] for c in calls.values()), "every call has an id")


def responses_openai(client):
    res = client.responses.create(model=OPENAI_MODEL, input=PROMPT, instructions="Be brief.")
    expect_eq(res.output_text, EXPECTED, "output_text")
    expect_eq(res.status, "completed", "status")
    expect_eq(res.usage.output_tokens, 4, "usage.output_tokens")


def responses_stream_tools(client):
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    with client.responses.stream(model=OPENAI_MODEL, input="weather in Paris", tools=tools) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    expect_eq(len(calls), 1, "function calls")
    expect_eq(json.loads(calls[0].arguments)["city"], "Paris", "arguments")
    for k in ["response.created", "response.output_item.added", "response.function_call_arguments.delta",
              "response.function_call_arguments.done", "response.output_item.done", "response.completed"]:
        expect(k in kinds, f"event {k} missing from {kinds}")


CHECKS = [
    ("chat via Anthropic upstream", chat_anthropic),
    ("chat stream via Anthropic upstream", chat_stream_anthropic),
    ("chat stream parallel tools via Anthropic upstream", chat_stream_tools_anthropic),
    ("responses via OpenAI chat upstream", responses_openai),
    ("responses stream with tools", responses_stream_tools),
]


def main():
    if not BASE_URL:
        print("SWITCHYARD_BASE_URL is not set", file=sys.stderr)
        return 2
    client = openai.OpenAI(base_url=BASE_URL, api_key="sk-test", max_retries=0, timeout=30)
    passed = failed = 0
    for name, check in CHECKS:
        try:
            check(client)
        except CheckFailed as err:
            failed += 1
            print(f"FAIL {name}: {err}")
        except Exception as err:  # noqa: BLE001
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
