#!/usr/bin/env python3
"""Drive a running Switchyard's rate limits and budgets with the official
OpenAI and Anthropic Python SDKs.

Environment:
  SWITCHYARD_BASE_URL  e.g. http://127.0.0.1:PORT (required; no /v1)
  BUDGET_KEY           a key whose daily budget cannot cover 1000 output tokens
  RPM_KEY              a key allowed 2 requests per minute
  CUTOFF_KEY_A/_B      keys with a small budget and cutoff_streams on
  MODEL                the model (an OpenAI-format upstream serves it)

Prints one line per check and a final "N passed, M failed".
"""

import os
import sys
import traceback

import anthropic
import openai

BASE_URL = os.environ.get("SWITCHYARD_BASE_URL")
MODEL = os.environ.get("MODEL", "gpt-4o-mini")
LONG_PROMPT = " ".join(f"wordwordword{i:05}" for i in range(200))


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)


def oai(key, retries=0):
    return openai.OpenAI(base_url=f"{BASE_URL}/v1", api_key=key, max_retries=retries, timeout=30)


def ant(key, retries=0):
    return anthropic.Anthropic(base_url=BASE_URL, api_key=key, max_retries=retries, timeout=30)


def openai_budget_is_not_retried():
    # Default retries (2): x-should-retry: false must stop them (the test
    # counts the refusals the gateway saw).
    try:
        oai(os.environ["BUDGET_KEY"], retries=2).chat.completions.create(
            model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "hi"}]
        )
    except openai.RateLimitError as e:
        expect(e.status_code == 429, f"status {e.status_code}")
        expect(e.code == "insufficient_quota", f"code {e.code!r}")
        expect("budget of key" in e.message, e.message)
        return
    raise CheckFailed("no RateLimitError")


def anthropic_budget_is_not_retried():
    try:
        ant(os.environ["BUDGET_KEY"], retries=2).messages.create(
            model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.RateLimitError as e:
        expect(e.status_code == 429, f"status {e.status_code}")
        expect(e.body["error"]["type"] == "rate_limit_error", repr(e.body))
        return
    raise CheckFailed("no RateLimitError")


def openai_rpm():
    client = oai(os.environ["RPM_KEY"])
    for _ in range(2):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    try:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    except openai.RateLimitError as e:
        retry = int(e.response.headers["retry-after"])
        expect(1 <= retry <= 90, f"retry-after {retry}")
        expect(e.response.headers["x-ratelimit-remaining-requests"] == "0", "remaining")
        return
    raise CheckFailed("the third request passed")


def openai_stream_cutoff():
    stream = oai(os.environ["CUTOFF_KEY_A"]).chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": LONG_PROMPT}]
    )
    text = ""
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
    except openai.APIError as e:
        expect("budget" in e.message, e.message)
        expect("wordwordword00010" in text and "wordwordword00040" not in text, text)
        return
    raise CheckFailed(f"the stream ended cleanly: {text[-80:]!r}")


def anthropic_stream_cutoff():
    text = ""
    try:
        with ant(os.environ["CUTOFF_KEY_B"]).messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": LONG_PROMPT}]
        ) as stream:
            for piece in stream.text_stream:
                text += piece
    except anthropic.APIStatusError as e:
        expect("budget" in str(e), str(e))
        expect("wordwordword00010" in text and "wordwordword00050" not in text, text)
        return
    raise CheckFailed(f"the stream ended cleanly: {text[-80:]!r}")


CHECKS = [
    openai_budget_is_not_retried,
    anthropic_budget_is_not_retried,
    openai_rpm,
    openai_stream_cutoff,
    anthropic_stream_cutoff,
]


def main():
    if not BASE_URL:
        print("SWITCHYARD_BASE_URL is not set", file=sys.stderr)
        return 2
    passed = failed = 0
    for check in CHECKS:
        try:
            check()
            print(f"PASS {check.__name__}")
            passed += 1
        except Exception:  # noqa: BLE001 - report every failure, keep going
            print(f"FAIL {check.__name__}")
            traceback.print_exc(file=sys.stdout)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
