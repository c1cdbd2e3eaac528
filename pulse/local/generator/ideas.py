"""The feedback portal: ideas, their votes (and changes of mind), the comments and reactions
they get, and the staff's answers (under review, accepted or declined, implemented)."""

from __future__ import annotations

from pulse.local.generator.actors import _Actors
from pulse.local.generator.config import DAY_MS, HOUR_MS, MINUTE_MS
from pulse.local.generator.draws import IDEA_FOLLOW_UP_DELAYS, _delay_ms, _poisson
from pulse.local.generator.encoding import _json_string
from pulse.local.generator.planted import LATE_ANSWER_DAYS, in_window
from pulse.local.generator.vocabulary import IDEA_CATEGORIES, IDEA_TITLES
from pulse.local.generator.world import _Community


class _Ideas(_Actors):
    """Writes ideas and what follows them over the next weeks."""

    def _idea(self, c: _Community, at: int) -> None:
        """An idea at `at` with its votes, comments, reactions and answers."""
        rng = self.rng
        author = self._pick_active(c, at, at)
        if author is None:
            author = self._pick_member(c, at, at)
            if author is None:
                return
        idea_id = self._next_id("i")
        title = rng.choice(IDEA_TITLES).format(topic=c.topic.replace("_", " "))
        payload = (
            f'{{"idea_id":"{idea_id}","title":{_json_string(title)},'
            f'"category":"{rng.choice(IDEA_CATEGORIES)}"{self._text(c, at)}}}'
        )
        if not self._emit_by(at, c, author, "feedback.submitted", payload):
            return
        popularity = rng.uniform(0.35, 0.95)
        voted: set[int] = set()
        for _ in range(_poisson(rng, self.world.votes_per_idea(c.present(at)))):
            when = at + min(int(rng.expovariate(1 / (36 * HOUR_MS))), 14 * DAY_MS) + MINUTE_MS
            voter = self._pick_member(c, when, when)
            if voter is None or voter in voted:
                continue
            voted.add(voter)
            up = rng.random() < popularity
            vote = f'{{"idea_id":"{idea_id}","direction":"{"up" if up else "down"}"}}'
            if not self._emit_by(when, c, voter, "feedback.voted", vote):
                continue
            if rng.random() < 0.12:  # a change of mind: the later vote is the one that counts
                again = when + HOUR_MS + int(rng.expovariate(1 / (3 * DAY_MS)))
                if c.gone_ms[voter] > again:
                    flipped = f'{{"idea_id":"{idea_id}","direction":"{"down" if up else "up"}"}}'
                    self._emit_by(again, c, voter, "feedback.voted", flipped)
        for _ in range(_poisson(rng, 0.5)):
            when = at + IDEA_FOLLOW_UP_DELAYS[int(rng.random() * 4096)]
            commenter = self._pick_active(c, when, when)
            if commenter is not None:
                payload = (
                    f'{{"comment_id":"{self._next_id("c")}","post_id":"{idea_id}",'
                    f'"author_role":"member"{self._text(c, when)}}}'
                )
                self._emit_by(when, c, commenter, "comment.created", payload)
        reacted: set[int] = set()
        for _ in range(_poisson(rng, 0.3)):
            when = at + IDEA_FOLLOW_UP_DELAYS[int(rng.random() * 4096)]
            member = self._pick_member(c, when, when)
            if member is not None and member not in reacted:  # one reaction per member and idea
                reacted.add(member)
                self._react(c, when, member, "idea", idea_id)
        self._idea_lifecycle(c, at, idea_id, popularity)

    def _idea_lifecycle(self, c: _Community, at: int, idea_id: str, popularity: float) -> None:
        """under_review, then accepted (maybe implemented) or declined; a quarter never answered.

        When incidents are planted every idea is answered (the same draws are made), those of a
        planted stretch only `LATE_ANSWER_DAYS` after their submission.
        """
        rng = self.rng
        planting = self.world.config.plant_incidents
        if rng.random() < 0.25 and not planting:
            return
        late = planting and in_window(c.unanswered, at)
        steps = ["under_review"]
        if rng.random() < popularity * 0.8:
            steps.append("accepted")
            if rng.random() < 0.45:
                steps.append("implemented")
        else:
            steps.append("declined")
        when = at
        for step, median_hours in zip(steps, (30, 5 * 24, 10 * 24), strict=False):
            when += _delay_ms(rng, median_hours * 60, 0.8, median_hours * 4)
            if late and step == "under_review":
                when = at + LATE_ANSWER_DAYS * DAY_MS
            staff = self._staff(c)
            payload = (
                f'{{"idea_id":"{idea_id}","status":"{step}","by_role":"{c.staff_roles[staff]}"}}'
            )
            if not self._emit_by(when, c, staff, "feedback.status_changed", payload):
                return
