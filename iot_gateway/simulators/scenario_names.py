"""The names of the simulated incidents, apart from their code so that the command line offers them cheaply."""

SCENARIO_NAMES = ("fire", "water_leak", "mains_failure", "door_forced", "emergency_button")
