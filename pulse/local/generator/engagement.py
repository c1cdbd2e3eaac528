"""Posts and their engagement: comments (with replies), reactions, shares, and the heavy
engagers whose extra reactions stand in for the community's next ones."""

from __future__ import annotations

import bisect

from pulse.local.generator.actors import _Actors
from pulse.local.generator.draws import (
    FIRST_COMMENT_DELAYS,
    NEXT_COMMENT_DELAYS,
    REACTION_DELAYS,
    REACTION_FOLLOW_DELAYS,
    SHARE_DELAYS,
    _binomial,
)
from pulse.local.generator.planted import COLLAPSE_FACTOR, OVERPOSTING_SHARE, in_window
from pulse.local.generator.trends import trending_tags
from pulse.local.generator.vocabulary import (
    CONTENT_TYPES,
    MULTI_REACTION_PLATFORMS,
    NOUNS,
    REACTION_CUM,
    REACTIONS,
)
from pulse.local.generator.world import _Community

COMMENT_SHARE = 0.28
SHARE_SHARE = 0.07  # of engagements; the rest are reactions
REPLY_SHARE = 0.3  # of comments after the first, replying to an earlier one
HEAVY_REACTIONS = (2, 5)  # reactions of a heavy engager's visit to a thread (inclusive)
HEAVY_COMMENTS_AGAIN = (1, 3)  # further comments of a heavy engager who commented on a thread
HEAVY_TAKES_SLOT = 0.5  # chance they take each later comment of the thread, until done
# Reactions heavy engagers made beyond the community's share and that its next reactions still
# make up for: visits that come on top of that many wait (calibration of engagements per post).
HEAVY_DEBT_LIMIT = 10


class _Engagement(_Actors):
    """Writes posts and everything members do with them."""

    def _post(self, c: _Community, at: int) -> None:
        """A post at `at` (by staff or an active member) and its engagement."""
        rng = self.rng
        brand_share = c.brand_post_share
        if c.overposting is not None and in_window(c.overposting, at):
            brand_share = OVERPOSTING_SHARE  # a planted overposting spell
        author = None if rng.random() < brand_share else self._pick_active(c, at, at)
        role = "member"
        if author is None:
            author = self._staff(c)
            role = c.staff_roles[author]
        post_id = self._next_id("p")
        content_type = CONTENT_TYPES[bisect.bisect_left(c.content_cum, rng.random())]
        extra = self._text(c, at)
        # ~30% of posts carry the community's topic and a few everyday nouns; any post may carry
        # the trends of the moment (drawn apart, see trends.py).
        tags = [c.topic, *rng.sample(NOUNS, rng.randint(0, 2))] if rng.random() < 0.3 else []
        tags += trending_tags(c, at)
        if tags:
            extra += ',"tags":["' + '","'.join(tags) + '"]'
        payload = (
            f'{{"post_id":"{post_id}","author_role":"{role}",'
            f'"content_type":"{content_type}"{extra}}}'
        )
        if not self._emit_by(at, c, author, "post.created", payload):
            return
        p_engage = c.p_engage
        if c.collapse is not None and in_window(c.collapse, at):
            p_engage *= COLLAPSE_FACTOR  # a planted engagement collapse
        engagements = _binomial(rng, c.present(at), p_engage)
        if engagements:
            self._engage(c, at, post_id, engagements)

    def _engage(self, c: _Community, at: int, post_id: str, engagements: int) -> None:
        """Spread one post's engagements over comments, reactions and shares."""
        rng = self.rng
        n_comments = n_shares = 0
        for _ in range(engagements):
            u = rng.random()
            if u < COMMENT_SHARE:
                n_comments += 1
            elif u < COMMENT_SHARE + SHARE_SHARE:
                n_shares += 1
        n_reactions = engagements - n_comments - n_shares
        # The first response takes minutes to hours whatever the size of the thread; the rest
        # of the discussion follows it.
        comment_times: list[int] = []
        if n_comments:
            first = at + FIRST_COMMENT_DELAYS[int(rng.random() * 4096)]
            later = (
                first + NEXT_COMMENT_DELAYS[int(rng.random() * 4096)] for _ in range(n_comments - 1)
            )
            comment_times = [first, *sorted(later)]
        comments: list[tuple[int, str]] = []
        authors: list[int] = []  # of `comments`
        heavy = c.heavy
        visitors: list[tuple[int, int]] = []  # heavy engagers who commented here: when, who
        again = 0  # comments the last of them still wants to write
        for when in comment_times:
            parent = ""
            if comments and rng.random() < REPLY_SHARE:
                parent_at, parent_id = comments[int(rng.random() * len(comments))]
                when = max(when, parent_at + 30_000)
                parent = f',"parent_comment_id":"{parent_id}"'
            role = "member"
            if again and rng.random() < HEAVY_TAKES_SLOT and c.gone_ms[visitors[-1][1]] > when:
                author: int | None = visitors[-1][1]
                again -= 1
            else:
                author = (
                    None if rng.random() < c.brand_comment_share else self._pick_active(c, at, when)
                )
                if author is not None and heavy[author] and not again:
                    visitors.append((when, author))
                    low, high = HEAVY_COMMENTS_AGAIN
                    again = low + int(rng.random() * (high - low + 1))
            if author is None:
                author = self._staff(c)
                role = c.staff_roles[author]
            comment_id = self._next_id("c")
            payload = (
                f'{{"comment_id":"{comment_id}","post_id":"{post_id}"{parent},'
                f'"author_role":"{role}"{self._text(c, when)}}}'
            )
            if self._emit_by(when, c, author, "comment.created", payload):
                comments.append((when, comment_id))
                authors.append(author)
        # Reactions and shares come from regular members present at posting time (drawn
        # uniformly; one draw per engagement, retried a few times if the member has gone).
        n_staff, gone_ms, random_ = c.n_staff, c.gone_ms, rng.random
        joined = bisect.bisect_right(c.join_ms, at) - n_staff
        if joined <= 0:
            return
        comment_at = [when for when, _ in comments]
        reacted: set[tuple[str, int]] = set()
        for when, member in visitors:
            # A heavy engager who comments reacts around the thread too, while the community's
            # next reactions can make up for it (see `debt`).
            if c.debt < HEAVY_DEBT_LIMIT:
                when += REACTION_FOLLOW_DELAYS[int(random_() * 4096)]
                first = ("post", post_id)
                c.debt += self._react_heavily(c, when, member, first, comments, authors, reacted)
        left = n_reactions
        while left > 0:
            left -= 1
            if c.debt:  # a heavy engager's earlier visit took this engagement already
                c.debt -= 1
                continue
            when = at + REACTION_DELAYS[int(random_() * 4096)]
            target_type, target_id = "post", post_id
            if comments and random_() < 0.2:
                earlier = bisect.bisect_left(comment_at, when)
                if earlier:
                    target_type, target_id = "comment", comments[int(random_() * earlier)][1]
            for _ in range(4):
                member = n_staff + int(random_() * joined)
                if gone_ms[member] > when and not self._silenced(c, member, when):
                    break
            else:
                continue
            if heavy[member]:
                # The visit's further reactions take the place of the community's next ones, so
                # engagements per post and member stay as calibrated.
                first = (target_type, target_id)
                made = self._react_heavily(c, when, member, first, comments, authors, reacted)
                c.debt += max(0, made - 1)
                continue
            # One reaction per member and target, like the platforms allow.
            if (target_id, member) in reacted:
                continue
            reacted.add((target_id, member))
            self._react(c, when, member, target_type, target_id)
        for _ in range(n_shares):
            when = at + SHARE_DELAYS[int(random_() * 4096)]
            member = n_staff + int(random_() * joined)
            if gone_ms[member] > when:
                destination = "internal" if random_() < 0.6 else "external"
                payload = f'{{"post_id":"{post_id}","destination":"{destination}"}}'
                self._emit_by(when, c, member, "content.shared", payload)

    def _react_heavily(
        self,
        c: _Community,
        when: int,
        member: int,
        first: tuple[str, str],
        comments: list[tuple[int, str]],
        authors: list[int],
        reacted: set[tuple[str, int]],
    ) -> int:
        """A heavy engager follows a thread: 2-5 reactions on the post and its comments.

        The first on the drawn target at `when`, then on other people's comments of the thread as
        they come in; where the platform allows, further kinds on targets of the visit (never
        one kind twice). Returns how many reactions it made.
        """
        rng = self.rng
        gone = c.gone_ms[member]
        low, high = HEAVY_REACTIONS
        wanted = low + int(rng.random() * (high - low + 1))
        follow = REACTION_FOLLOW_DELAYS
        plan = [(when, *first)]
        others = [
            comment
            for comment, author in zip(comments, authors, strict=True)
            if author != member and comment[1] != first[1]
        ]
        for at, comment_id in rng.sample(others, min(len(others), wanted - 1)):
            plan.append((max(when, at) + follow[int(rng.random() * 4096)], "comment", comment_id))
        made = 0
        done: list[tuple[int, str, str, list[str]]] = []  # when, target type and id, its kinds
        for at, target_type, target_id in plan:
            if at >= gone or (target_id, member) in reacted:
                continue
            reacted.add((target_id, member))
            reaction = REACTIONS[bisect.bisect_left(REACTION_CUM, rng.random())]
            self._react(c, at, member, target_type, target_id, reaction)
            done.append((at, target_type, target_id, [reaction]))
            made += 1
        if done and c.platform in MULTI_REACTION_PLATFORMS:
            for _ in range(wanted - made):
                at, target_type, target_id, kinds = done[int(rng.random() * len(done))]
                at += follow[int(rng.random() * 4096)]
                fresh = [kind for kind in REACTIONS if kind not in kinds]
                if at < gone and fresh:
                    reaction = fresh[int(rng.random() * len(fresh))]
                    kinds.append(reaction)
                    self._react(c, at, member, target_type, target_id, reaction)
                    made += 1
        return made
