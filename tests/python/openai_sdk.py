#!/usr/bin/env python3
"""Drive a running Switchyard with the official OpenAI Python SDK.

The gateway must sit in front of a fake OpenAI upstream (switchyard-testkit)
that echoes "echo: <last message>" and counts whitespace words as tokens.

Environment:
  SWITCHYARD_BASE_URL  e.g. http://127.0.0.1:PORT/v1 (required)
  SWITCHYARD_MODEL     chat model to ask for (default "gpt-4o-mini")
  SWITCHYARD_API_KEY   client key (default "sk-test")

Prints one line per check and a final "N passed, M failed"; exits non-zero
on any failure.
"""

import os
import sys
import traceback

import openai

BASE_URL = os.environ.get("SWITCHYARD_BASE_URL")
MODEL = os.environ.get("SWITCHYARD_MODEL", "gpt-4o-mini")
API_KEY = os.environ.get("SWITCHYARD_API_KEY", "sk-test")
PROMPT = "hello there gateway"
EXPECTED = "echo: hello there gateway"


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_eq(actual, expected, what):
    expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def chat_non_stream(client):
    res = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}]
    )
    expect(len(res.choices) == 1, f"one choice expected, got {len(res.choices)}")
    choice = res.choices[0]
    expect_eq(choice.message.content, EXPECTED, "choices[0].message.content")
    expect_eq(choice.message.role, "assistant", "choices[0].message.role")
    expect_eq(choice.finish_reason, "stop", "choices[0].finish_reason")
    expect(res.usage is not None, "usage missing")
    expect_eq(res.usage.prompt_tokens, 3, "usage.prompt_tokens")
    expect_eq(res.usage.completion_tokens, 4, "usage.completion_tokens")


def chat_stream(client):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, first_role, finished, usage = [], None, False, None
    seen_chunk = False
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if not seen_chunk:
                first_role = choice.delta.role
            seen_chunk = True
            if choice.delta.content:
                text.append(choice.delta.content)
            if choice.finish_reason == "stop":
                finished = True
    expect(seen_chunk, "no chunk with a choice")
    expect_eq("".join(text), EXPECTED, "joined deltas")
    expect_eq(first_role, "assistant", "first chunk's delta.role")
    expect(finished, 'no chunk with finish_reason "stop"')
    expect(usage is not None, "no usage chunk although include_usage was set")
    expect_eq(usage.completion_tokens, 4, "usage chunk's completion_tokens")


def embeddings(client):
    # The SDK asks for base64 and decodes it: this covers that path.
    res = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    expect_eq(len(res.data), 2, "number of embeddings")
    for i, item in enumerate(res.data):
        expect_eq(item.index, i, f"data[{i}].index")
        expect_eq(len(item.embedding), 8, f"data[{i}] length")
        expect(
            all(isinstance(x, float) for x in item.embedding),
            f"data[{i}] holds non-floats: {item.embedding!r}",
        )
    expect(res.data[0].embedding != res.data[1].embedding, "inputs got the same vector")


def models(client):
    ids = [m.id for m in client.models.list()]
    expect("gpt-4o-mini" in ids, f'"gpt-4o-mini" not among the models: {ids!r}')


def unknown_model(client):
    try:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": PROMPT}]
        )
    except openai.NotFoundError as err:
        body = err.body
        # The SDK hands over the "error" object itself when the body has one.
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = body["error"]
        expect(isinstance(body, dict), f"error body is not an object: {body!r}")
        expect_eq(body.get("type"), "invalid_request_error", "error.type")
        return
    except openai.APIStatusError as err:
        raise CheckFailed(f"expected 404 NotFoundError, got {err.status_code}: {err.body!r}")
    raise CheckFailed("no error for an unknown model")


CHECKS = [
    ("chat completion", chat_non_stream),
    ("chat completion stream", chat_stream),
    ("embeddings (base64)", embeddings),
    ("models list", models),
    ("unknown model -> 404", unknown_model),
]


def main():
    if not BASE_URL:
        print("SWITCHYARD_BASE_URL is not set", file=sys.stderr)
        return 2
    client = openai.OpenAI(base_url=BASE_URL, api_key=API_KEY, max_retries=0, timeout=30)
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
