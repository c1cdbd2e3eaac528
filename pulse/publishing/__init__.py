"""What leaves a validated build: promote (blue/green BI views), outbound topics, alert rules."""
