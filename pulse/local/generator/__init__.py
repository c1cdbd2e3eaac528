"""Seeded generator of realistic micro-community traffic for `community.events.v1`.

Used by `pulse generate`, the demo (200k events over 60 days), the tests (20k events) and the
benchmarks (1M events). The same `GeneratorConfig` (seed, end, sizes, shares) always yields the same
messages, byte for byte; the valid events do not depend on `invalid_share` or `duplicate_share`.

What the data looks like (tests check these claims on the generated events). The defaults give a
community that starts with the span ("greenfield"); `GeneratorConfig.brownfield()` gives what a
real deployment sees, a community that had its members long before (`preexisting_share` 0.7)
with a few heavy engagers (`heavy_engager_share` 0.05). The defaults' valid events are the same,
byte for byte, as before these two shares existed, apart from `audience_size` and the
trending tags.

World
    `brands` brands (`brand_1`, ...), each with 2-5 *micro* communities and 1-2 *broad* ones.
    Micro communities have 30-250 members; broad ones 10x-30x the brand's average micro size.
    Both ranges open up with `events` so small runs stay busy: micro 30-max(40, events/400)
    members (30-50 at 20k events, the full 30-250 from 100k), broad up to max(10.5, 10 +
    events/10k) times (10x-12x at 20k, 10x-30x from 200k). Should members need more than 45% of
    `events` (possible below ~10k events), every size shrinks in proportion. Community ids look
    like `brand_1.micro.plant_care`; each community is announced by `community.upserted` before
    any other event and lives on one platform (facebook, reddit, discord, brand_app). The upsert
    carries `audience_size`, the platform's member/follower count: the community's full size
    (members from before the span, joiners, members never seen) times 1.1-1.5 in micro and
    1.5-3 in broad communities (accounts that never show up), so always above the number of
    members the stream shows; it has a random generator of its own, so it is the same whatever
    the shares. Member ids look like `u12345`; each belongs to one community on one platform.
    Every community has 2-3 staff accounts (one brand account, moderators) who join first.
Members
    Every member has one `member.joined` (with source), except the `preexisting_share` of each
    community's regular (non-staff) members who were members before the span: they never join,
    are there from its first minutes and act like the others (lurkers among them), so in the
    brownfield shape ~70-75% of the regular members who act have no join. Of the joiners about a
    third join in the first two days (in proportion fewer, `1 - preexisting_share`, where the
    community already had its members: no founding rush), most of the rest over the whole span,
    brand-campaign joiners bunched around one campaign day per brand. About 10% leave
    (`member.left`); pre-existing members leave at any time of the span, so many leaves come
    without a join, some from lurkers never seen before. A few of the most active early members
    request erasure (`member.erased`) in the last 3 days, always after some activity of their
    own. Nobody acts before joining or after leaving or being erased. Most members lurk: 55-85%
    of each community never post or comment (they may react, share and vote); the others have
    Pareto(1.2) activity weights, so the top 10% of members make well over half (~90%) of all
    posts and comments.
Engagement
    For every post, each member present at posting time engages with probability `p` (a binomial
    draw): `p = 0.08` in micro communities, `0.08 / micro_lift` in broad ones. An engagement is a
    comment (28%), a share (7%; internal or external) or a reaction (65%; on the post or on one
    of its earlier comments, one per member and target). So engagements (comments + reactions
    added + shares) / (posts x members) in micro communities is about `micro_lift` times that of
    broad ones, per brand and ISO week, with members as observed (from their join or first
    activity to their leave; in the brownfield shape a little less than `micro_lift`, as members
    never seen are not counted and broad communities have more of them).
    Heavy engagers (`heavy_engager_share` of the non-lurkers) engage several times whenever they
    engage: a reaction of theirs becomes 2-5, on the post and on other people's comments of the
    thread as they come in, and a comment of theirs comes with such a round of reactions and 1-3
    more comments in the thread (each later comment theirs at 50%). On discord and brand_app,
    where a member may put several reaction kinds on one target, they do; elsewhere it stays one
    reaction per member and target, and nobody adds the same kind twice to a target. So they
    stand out: ~3-4 engagements per post they engage with (most of them 2.5 or more each), where
    everyone else averages ~1.02 and, without heavy engagers, nobody reaches 2.5. Their extra
    reactions stand in for the community's next ones, so engagements per post and member (and
    `events`) stay as calibrated.
    About 4% of reactions are removed later (`reaction.removed`: same member, target and
    reaction). The first comment comes minutes to hours after the post (log-normal, median 45
    min, whatever the thread's size), the others within hours of it; ~30% of later comments
    reply to an earlier one (`parent_comment_id`).
Posts and brand voice
    Content types vary by community (text most common); ~30% of posts carry the community's
    topic and up to two everyday nouns as tags. Staff write 5-40% of posts in most communities;
    in one micro community per brand they write ~90% of posts and ~50% of comments, so the
    brand/moderator voice there is above 50%.
Trending tags
    Each brand runs one campaign tag (`giveaway`, `new_collection`, ...) in all its communities,
    starting 35-60% into the span (each community within two days of the brand), and each
    community has one trend of its own (`gear_swap`, `live_qa`, ...) starting 15-70% in. A trend
    is on no post before its start, rises over a week to its peak (25-40% of posts for a
    campaign, 15-30% for a community's own), holds a week and falls over two weeks to a quarter
    of its peak, so the topic marts see each one rise and fade. Trends have random generators
    of their own (`trends`): every other event is the same as without them.
Feedback portal
    Ideas (`feedback.submitted`: title, category, optional text) in every community, three times
    as many in brand_app ones; votes over the following two weeks, ~12% of voters later flip their
    vote (the last one counts); ~75% of ideas get `under_review`, then `accepted` or `declined`,
    and ~45% of accepted ones `implemented`; the rest are never answered. A few comments
    (`post_id` = the idea id) and reactions (`target_type` idea) go to ideas.
Text
    About half of posts, comments and ideas carry short English `text` built from positive,
    neutral and negative word lists (VADER scores them in all three bands); a quarter of those
    also carry an explicit `sentiment` in [-1, 1], and ~15% of items carry only a `sentiment`.
    The largest broad community of each brand turns mostly negative (85% of items) and 50%
    busier in the last 3 days.
Stream
    Days are generated one at a time and sorted by `occurred_at`; ~1% of valid events are late
    (delivered 1-2 days after they occurred, among newer events). Keys are the community id.
    Event ids are UUID4s from the seeded RNG, timestamps RFC 3339 with `+00:00`, schema_version 1,
    and nothing occurs at or after `end`. ~`duplicate_share` of valid messages are sent again
    (identical key and value) 1-20 messages later. Invalid messages make up ~`invalid_share` of
    all messages, spread evenly and cycling through `invalid_json`, `invalid_utf8`,
    `schema_violation`, `unknown_event_type` and `future_timestamp` (year 2999); with
    `events >= 5000` there is also one `oversized` value (> 1.1 MiB) per started 200k messages.

Memory stays bounded: members, and follow-ups already scheduled for the next days (comments,
reactions, votes, decisions), never the stream. 1M events took 10-14 s of CPU (71k-102k valid
events per CPU second; 11-24 s wall on a shared, busy 2-vCPU machine) and ~85 MB peak RSS, 46 MB
of it the interpreter and imports. The brownfield shape costs about the same (200k events:
~2 s of CPU either way).

Planted incidents
    `GeneratorConfig(plant_incidents=True)` plants conditions with known windows (a sentiment
    crisis, an engagement collapse, a brand overposting spell, late-answered ideas, core members
    of one micro community going quiet for two weeks from a Monday, and a tiny control community
    that must open nothing); `planted_incidents(config)` lists them, and
    `pulse.local.generator.planted` says exactly what is planted. Off by default.

This package re-exports the public names; each module has one concern: `config` (what to
generate, `GeneratedMessage`, shared units), `vocabulary` (platforms, topics, words), `draws`
and `encoding` (seeded numbers, JSON and timestamps), `world` (communities, members, membership
timeline, calibration), `trends` (trending tags), the simulation in layers (`events`, `actors`,
`engagement`, `ideas`, `simulation`), `invalid` and `mixing` (duplicates and invalid messages),
`stream` (`generate`) and `producer` (`produce`).
"""

from pulse.local.generator.config import (
    GeneratedMessage,
    GeneratorConfig,
    MessageKind,
    expected_messages,
)
from pulse.local.generator.invalid import INVALID_REASONS
from pulse.local.generator.planted import PlantedIncident
from pulse.local.generator.producer import ProduceError, ProduceReport, produce
from pulse.local.generator.stream import generate, planted_incidents

__all__ = [
    "INVALID_REASONS",
    "GeneratedMessage",
    "GeneratorConfig",
    "MessageKind",
    "PlantedIncident",
    "ProduceError",
    "ProduceReport",
    "expected_messages",
    "generate",
    "planted_incidents",
    "produce",
]
