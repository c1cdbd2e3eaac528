"""What runs on one machine: the embedded stack, the traffic generator, the demo, `pulse status`."""
