"""The fixed vocabularies events are drawn from: platforms, topics, join sources, content
types, reactions, idea categories, trending tags and the words of the generated text."""

PLATFORMS = ("facebook", "reddit", "discord", "brand_app")
# Where one member may put several reaction kinds on one target (emoji reactions); elsewhere a
# member has one reaction per target.
MULTI_REACTION_PLATFORMS = frozenset({"discord", "brand_app"})
MICRO_TOPICS = (
    "plant_care",
    "running_club",
    "sourdough",
    "home_espresso",
    "trail_running",
    "urban_sketching",
    "indoor_cycling",
    "zero_waste",
    "board_games",
    "vinyl_collectors",
    "beginner_yoga",
    "balcony_gardening",
    "film_photography",
    "cold_brew",
    "bike_repair",
    "knitting_circle",
)
BROAD_TOPICS = ("general", "announcements", "fans", "support")
JOIN_SOURCES = ("organic", "invite", "brand_campaign", "search")
JOIN_SOURCE_CUM = (0.45, 0.65, 0.85, 1.0)
CONTENT_TYPES = ("text", "image", "video", "link", "live_class", "event")
REACTIONS = ("like", "love", "insightful", "funny", "sad", "angry")
REACTION_CUM = (0.5, 0.68, 0.8, 0.9, 0.95, 1.0)
IDEA_CATEGORIES = ("feature_request", "product", "content", "events", "pricing", "bug")

# Word lists chosen from VADER's lexicon, so its compound score follows the intended mood.
POSITIVE_WORDS = ("great", "amazing", "helpful", "awesome", "beautiful", "excellent", "wonderful")
NEGATIVE_WORDS = ("terrible", "awful", "useless", "disappointing", "broken", "annoying", "horrible")
POSITIVE_CLOSERS = ("Thanks so much!", "Love it.", "Really happy with this.", "Great job, team!")
NEGATIVE_CLOSERS = ("Not happy.", "What a mess.", "I hate this.", "So frustrating.")
NEUTRAL_CLOSERS = ("Any thoughts?", "Details below.", "See the link.", "Posting for reference.")
NOUNS = ("update", "guide", "schedule", "meetup", "photo", "checklist", "session", "app", "order")
# Trending tags (trends.py): a brand's campaign, run in all its communities, and a community's own.
CAMPAIGN_TAGS = (
    "giveaway",
    "new_collection",
    "loyalty_week",
    "spring_drop",
    "collab_launch",
    "members_sale",
)
COMMUNITY_TREND_TAGS = (
    "beginner_questions",
    "gear_swap",
    "weekly_challenge",
    "local_meetups",
    "troubleshooting",
    "show_and_tell",
    "live_qa",
    "tips_thread",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
IDEA_TITLES = (
    "Add a {topic} starter kit",
    "More {topic} live classes on weekends",
    "Let us filter the {topic} feed",
    "Offline mode for the {topic} app",
    "Monthly {topic} challenge",
    "Fix notifications for {topic} events",
    "Cheaper shipping for {topic} orders",
    "A beginners channel for {topic}",
)
