"""The alarm engine (ISA-18.2): rules from site.yaml and templates, conditions, lifecycle, operator actions."""

from alarms.batch import AlarmEvent
from alarms.engine import AlarmEngine
from alarms.operator import Actor, AlarmActionError, AlarmOperator
from alarms.rules import AlarmConfigError
from store.alarms import Alarm

__all__ = ["Actor", "Alarm", "AlarmActionError", "AlarmConfigError", "AlarmEngine", "AlarmEvent", "AlarmOperator"]
