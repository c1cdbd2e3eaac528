"""Pseudonymization and sentiment: what lets raw hold no member id and no free text."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class Pseudonymizer:
    """member_key = HMAC-SHA256(key, "platform:member_id"), hex. A missing platform is ""."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the pseudonym key must not be empty")
        self._key = key.encode("utf-8")

    def member_key(self, platform: str | None, member_id: str) -> str:
        message = f"{platform or ''}:{member_id}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~0.1 s: once per process, and only when text arrives.
    return SentimentIntensityAnalyzer()


def text_sentiment(text: str) -> float:
    """VADER compound score in [-1, 1] of `text`."""
    return float(_analyzer().polarity_scores(text)["compound"])
