"""Pseudonymization and sentiment: what lets raw hold no member id and no free text."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def key_fingerprint(key: str) -> str:
    """HMAC-SHA256(key, "pulse key fingerprint"), hex: names a key without revealing it."""
    return hmac.new(key.encode("utf-8"), b"pulse key fingerprint", hashlib.sha256).hexdigest()


def _derived_key(key: bytes, purpose: bytes) -> bytes:
    """A sub-key for one purpose, so no two kinds of digest can ever be equal by construction."""
    return hmac.new(key, purpose, hashlib.sha256).digest()


# Member keys remembered (an entry costs ~300 bytes, in each of two caches): enough for the
# members active at any one time in a busy stream, few enough that a long backlog of many
# distinct members does not grow the consumer's memory with it (200,000 grew it by ~100 MiB).
CACHE_SIZE = 20_000


class Pseudonymizer:
    """The keyed digests that stand in for identifiers (docs/contracts.md, "Privacy").

    - member_key = HMAC-SHA256(key, "platform:member_id"), hex; a missing platform is "".
    - member_ref = HMAC-SHA256(HMAC-SHA256(key, "member-ref"), member_id), hex: the same member
      under every platform, for erasures sent without one.
    - message key digest = HMAC-SHA256(HMAC-SHA256(key, "message-key"), key bytes), hex: what a
      dead letter keeps of a Kafka key that is not its community id.
    - fingerprint = HMAC-SHA256(key, "pulse key fingerprint"), hex: tells keys apart without
      revealing them (it holds no ':', so it is never a member key).
    """

    def __init__(self, key: str, cache_size: int = CACHE_SIZE) -> None:
        if not key:
            raise ValueError("the pseudonym key must not be empty")
        raw = key.encode("utf-8")
        # The keyed inner/outer states are computed once and copied per call (HMAC's own trick),
        # and active members recur, so a bounded cache saves most HMACs on a real stream.
        self._hmac = hmac.new(raw, digestmod=hashlib.sha256)
        self._ref_hmac = hmac.new(_derived_key(raw, b"member-ref"), digestmod=hashlib.sha256)
        self._message_key_hmac = hmac.new(
            _derived_key(raw, b"message-key"), digestmod=hashlib.sha256
        )
        self.fingerprint = key_fingerprint(key)
        self.member_key = lru_cache(maxsize=cache_size)(self._member_key)  # type: ignore[method-assign]
        self.member_ref = lru_cache(maxsize=cache_size)(self._member_ref)  # type: ignore[method-assign]

    def _member_key(self, platform: str | None, member_id: str) -> str:
        mac = self._hmac.copy()
        mac.update(f"{platform or ''}:{member_id}".encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def _member_ref(self, member_id: str) -> str:
        mac = self._ref_hmac.copy()
        mac.update(member_id.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def member_key(self, platform: str | None, member_id: str) -> str:
        """The member key of `member_id` on `platform`."""
        return self._member_key(platform, member_id)

    def member_ref(self, member_id: str) -> str:
        """The platform-independent reference of `member_id`."""
        return self._member_ref(member_id)

    def message_key_digest(self, key: bytes) -> str:
        """The digest a dead letter keeps instead of a Kafka key it may not store as sent."""
        mac = self._message_key_hmac.copy()
        mac.update(key)
        return mac.hexdigest()

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
