"""ITSM data in ServiceNow Table API shapes: parsing, the embedded store, read-only tools.

`parse` holds pure JSON -> model functions a live ServiceNow connector can reuse; `store`
keeps loaded records under `$BATON_HOME/data/itsm`; `tools` answers agents from it.
"""

from baton.tools.readers.itsm.errors import RecordError
from baton.tools.readers.itsm.parse import (
    parse_change_request,
    parse_ci_relation,
    parse_config_item,
    parse_task_ci,
)
from baton.tools.readers.itsm.records import ChangeRequest, CiRelation, ConfigItem, Ref, TaskCi
from baton.tools.readers.itsm.store import ItsmStore, TableCount, itsm_dir, read_files
from baton.tools.readers.itsm.tools import itsm_tools

__all__ = [
    "ChangeRequest",
    "CiRelation",
    "ConfigItem",
    "ItsmStore",
    "RecordError",
    "Ref",
    "TableCount",
    "TaskCi",
    "itsm_dir",
    "itsm_tools",
    "parse_change_request",
    "parse_ci_relation",
    "parse_config_item",
    "parse_task_ci",
    "read_files",
]
