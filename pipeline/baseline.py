"""What counts as normal: the history a day is compared with (feed silence, topic spikes, the volume chart)."""

BASELINE_DAYS = 14  # days of history behind "usual volume"
SILENT_RATIO = 0.25  # an active feed is silent when its last day brings under this share of its usual volume
