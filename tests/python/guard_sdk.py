#!/usr/bin/env python3
"""Drive a running Switchyard's prompt guard with the official OpenAI and
Anthropic Python SDKs. The gateway redacts e-mail addresses and blocks AWS
access keys; its fake upstream echoes the last user message.

Environment:
  SWITCHYARD_BASE_URL  e.g. http://127.0.0.1:PORT (required; no /v1)
  OPENAI_MODEL         a model served by an OpenAI-format provider
  ANTHROPIC_MODEL      a model served by an Anthropic provider

Prints one line per check and a final "N passed, M failed".
"""

import os
import sys
import traceback

import anthropic
import openai

BASE_URL = os.environ["SWITCHYARD_BASE_URL"]
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-5")
EMAIL = "jane.doe@gmail.com"
AWS_KEY = "AKIAQ4ZK7W2M5N8P3R6T"
REDACTED = "contact [REDACTED:email] today"

oai = openai.OpenAI(base_url=BASE_URL + "/v1", api_key="sk-anything", max_retries=0)
ant = anthropic.Anthropic(base_url=BASE_URL, api_key="sk-anything", max_retries=0)
results = []


def check(name):
    def wrap(f):
        try:
            f()
            results.append(True)
            print(f"ok   {name}")
        except Exception:
            results.append(False)
            print(f"FAIL {name}")
            traceback.print_exc()
        return f
    return wrap


def user(text):
    return [{"role": "user", "content": text}]


@check("openai: an e-mail is redacted before the model sees it")
def _():
    r = oai.chat.completions.create(model=OPENAI_MODEL, messages=user(f"contact {EMAIL} today"))
    text = r.choices[0].message.content
    assert REDACTED in text and EMAIL not in text, text


@check("openai: streamed, the same")
def _():
    stream = oai.chat.completions.create(
        model=OPENAI_MODEL, messages=user(f"contact {EMAIL} today"), stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert REDACTED in text and EMAIL not in text, text


@check("openai: an AWS key is refused with PermissionDeniedError naming the kind")
def _():
    try:
        oai.chat.completions.create(model=OPENAI_MODEL, messages=user(f"deploy with {AWS_KEY}"))
    except openai.PermissionDeniedError as e:
        assert e.status_code == 403, e.status_code
        assert e.code == "prompt_blocked", e.code
        assert "aws_access_key" in e.message and AWS_KEY not in e.message, e.message
        return
    raise AssertionError("not refused")


@check("anthropic: an e-mail is redacted before the model sees it")
def _():
    r = ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=50, messages=user(f"contact {EMAIL} today"))
    text = "".join(b.text for b in r.content if b.type == "text")
    assert REDACTED in text and EMAIL not in text, text


@check("anthropic: streamed, the same")
def _():
    with ant.messages.stream(
        model=ANTHROPIC_MODEL, max_tokens=50, messages=user(f"contact {EMAIL} today")
    ) as stream:
        text = "".join(stream.text_stream)
    assert REDACTED in text and EMAIL not in text, text


@check("anthropic: an AWS key is refused with PermissionDeniedError (permission_error)")
def _():
    try:
        ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=50, messages=user(f"deploy with {AWS_KEY}"))
    except anthropic.PermissionDeniedError as e:
        assert e.status_code == 403, e.status_code
        assert e.body["error"]["type"] == "permission_error", e.body
        assert "aws_access_key" in e.message and AWS_KEY not in e.message, e.message
        return
    raise AssertionError("not refused")


passed = sum(results)
failed = len(results) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
