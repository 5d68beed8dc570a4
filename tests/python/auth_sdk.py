#!/usr/bin/env python3
"""Drive a running Switchyard's authentication with the official OpenAI and
Anthropic Python SDKs.

Environment:
  SWITCHYARD_BASE_URL  e.g. http://127.0.0.1:PORT (required; no /v1)
  AUTH_MODE            open, key or virtual_keys
  GOOD_KEY             a key the gateway accepts (any string in open mode)
  OPENAI_MODEL         a model served by an OpenAI-format provider
  ANTHROPIC_MODEL      a model served by an Anthropic provider
  DENIED_MODEL         virtual_keys: a model GOOD_KEY may not use

Prints one line per check and a final "N passed, M failed".
"""

import os
import sys
import traceback

import anthropic
import openai

BASE_URL = os.environ.get("SWITCHYARD_BASE_URL")
MODE = os.environ.get("AUTH_MODE", "open")
GOOD_KEY = os.environ.get("GOOD_KEY", "sk-anything")
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-x")
DENIED_MODEL = os.environ.get("DENIED_MODEL", "")
WRONG_KEY = "sk-sy-wrongwrongwrongwrongwrongwrongwrongwrongw"
PROMPT = "hello there gateway"
EXPECTED = "echo: hello there gateway"


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect_eq(actual, expected, what):
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def oai(key):
    return openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key=key, max_retries=0, timeout=30)


def ant(key):
    return anthropic.Anthropic(base_url=BASE_URL, api_key=key, max_retries=0, timeout=30)


def openai_chat():
    res = oai(GOOD_KEY).chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": PROMPT}]
    )
    expect_eq(res.choices[0].message.content, EXPECTED, "content")


def openai_stream():
    stream = oai(GOOD_KEY).chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    expect_eq(text, EXPECTED, "streamed text")


def openai_models():
    page = oai(GOOD_KEY).models.list()
    expect_eq(page.object, "list", "object")
    if MODE == "open":
        return
    try:
        oai(WRONG_KEY).models.list()
    except openai.AuthenticationError:
        return
    raise CheckFailed("the model list was served to a wrong key")


def anthropic_messages():
    msg = ant(GOOD_KEY).messages.create(
        model=ANTHROPIC_MODEL, max_tokens=50, messages=[{"role": "user", "content": PROMPT}]
    )
    expect_eq(msg.content[0].text, EXPECTED, "text")


def anthropic_stream():
    with ant(GOOD_KEY).messages.stream(
        model=ANTHROPIC_MODEL, max_tokens=50, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        text = "".join(stream.text_stream)
    expect_eq(text, EXPECTED, "streamed text")


def openai_wrong_key():
    try:
        oai(WRONG_KEY).chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
    except openai.AuthenticationError as err:
        expect_eq(err.status_code, 401, "status")
        expect_eq(err.code, "invalid_api_key", "code")
        expect_eq(WRONG_KEY in str(err.body), False, "the key tried is not echoed")
        return
    raise CheckFailed("a wrong key was accepted")


def anthropic_wrong_key():
    try:
        ant(WRONG_KEY).messages.create(
            model=ANTHROPIC_MODEL, max_tokens=10, messages=[{"role": "user", "content": PROMPT}]
        )
    except anthropic.AuthenticationError as err:
        expect_eq(err.status_code, 401, "status")
        expect_eq(err.body["error"]["type"], "authentication_error", "error.type")
        return
    raise CheckFailed("a wrong key was accepted")


def openai_denied_model():
    try:
        oai(GOOD_KEY).chat.completions.create(
            model=DENIED_MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
    except openai.PermissionDeniedError as err:
        expect_eq(err.status_code, 403, "status")
        expect_eq(err.code, "model_not_allowed", "code")
        return
    raise CheckFailed("a model outside the key's globs was served")


def anthropic_denied_model():
    try:
        ant(GOOD_KEY).messages.create(
            model=DENIED_MODEL, max_tokens=10, messages=[{"role": "user", "content": PROMPT}]
        )
    except anthropic.PermissionDeniedError as err:
        expect_eq(err.body["error"]["type"], "permission_error", "error.type")
        return
    raise CheckFailed("a model outside the key's globs was served")


CHECKS = [
    ("openai chat", openai_chat),
    ("openai stream", openai_stream),
    ("openai models.list", openai_models),
    ("anthropic messages", anthropic_messages),
    ("anthropic stream", anthropic_stream),
]
if MODE != "open":
    CHECKS += [
        ("openai wrong key -> AuthenticationError", openai_wrong_key),
        ("anthropic wrong key -> AuthenticationError", anthropic_wrong_key),
    ]
if MODE == "virtual_keys":
    CHECKS += [
        ("openai denied model -> PermissionDeniedError", openai_denied_model),
        ("anthropic denied model -> PermissionDeniedError", anthropic_denied_model),
    ]


def main():
    if not BASE_URL:
        print("SWITCHYARD_BASE_URL is not set", file=sys.stderr)
        return 2
    passed = failed = 0
    for name, check in CHECKS:
        try:
            check()
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
