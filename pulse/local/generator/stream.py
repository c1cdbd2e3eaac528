"""One seeded run end to end: draw the world, simulate it, mix in duplicates and invalid
messages."""

from __future__ import annotations

import random
from collections.abc import Iterator

from pulse.local.generator.config import GeneratedMessage, GeneratorConfig
from pulse.local.generator.mixing import _mix
from pulse.local.generator.planted import PlantedIncident
from pulse.local.generator.simulation import _Simulation
from pulse.local.generator.world import _World


def generate(config: GeneratorConfig) -> Iterator[GeneratedMessage]:
    """Yield the messages of one seeded run, in stream order.

    Args:
        config: What to generate.

    Yields:
        Valid events (in `occurred_at` order except the late ones), duplicates shortly after their
        originals and invalid messages spread across the stream.
    """
    rng = random.Random(config.seed)
    # The mix has its own generator, so valid events do not depend on the invalid/duplicate shares.
    mix_rng = random.Random(rng.getrandbits(64))
    world = _World(config, rng)
    yield from _mix(config, world, _Simulation(world, rng).run(), mix_rng)


def planted_incidents(config: GeneratorConfig) -> list[PlantedIncident]:
    """What `generate(config)` plants (`pulse.local.generator.planted`); empty unless
    `config.plant_incidents`. Draws the world only (no events), the same one `generate` draws."""
    rng = random.Random(config.seed)
    rng.getrandbits(64)  # the mix's seed, drawn first by `generate`
    return _World(config, rng).planted
