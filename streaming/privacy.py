"""Pseudonymization and sentiment: what lets raw hold no member id and no free text."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class Pseudonymizer:
    """member_key = HMAC-SHA256(key, "platform:member_id"), hex. A missing platform is ""."""

    def __init__(self, key: str, cache_size: int = 200_000) -> None:
        if not key:
            raise ValueError("the pseudonym key must not be empty")
        # The keyed inner/outer states are computed once and copied per call (HMAC's own trick),
        # and active members recur, so a bounded cache saves most HMACs on a real stream.
        self._hmac = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)
        self.member_key = lru_cache(maxsize=cache_size)(self._member_key)  # type: ignore[method-assign]

    def _member_key(self, platform: str | None, member_id: str) -> str:
        mac = self._hmac.copy()
        mac.update(f"{platform or ''}:{member_id}".encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def member_key(self, platform: str | None, member_id: str) -> str:
        """The member key of `member_id` on `platform`."""
        return self._member_key(platform, member_id)

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~0.1 s: once per process, and only when text arrives.
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=20_000)
def text_sentiment(text: str) -> float:
    """VADER compound score in [-1, 1] of `text` (cached: retried and templated texts recur)."""
    return float(_analyzer().polarity_scores(text)["compound"])
