"""Internet Message Format (RFC 5322): the values inside message headers.

Parsers for structured header values — address lists, dates, message ids,
trace fields — that never raise on malformed input: they return what can be
recovered and record the rest as :class:`Defect` values.
"""

from mailproto.imf.addresses import (
    Address,
    AddressList,
    Group,
    format_address_list,
    parse_address,
    parse_address_list,
)
from mailproto.imf.dates import UNKNOWN_ZONE, format_date, parse_date
from mailproto.imf.defects import Defect
from mailproto.imf.headers import Headers as Headers
from mailproto.imf.message_ids import parse_message_id, parse_message_id_list
from mailproto.imf.received import Received, parse_received

__all__ = [
    "UNKNOWN_ZONE",
    "Address",
    "AddressList",
    "Defect",
    "Group",
    "Received",
    "format_address_list",
    "format_date",
    "parse_address",
    "parse_address_list",
    "parse_date",
    "parse_message_id",
    "parse_message_id_list",
    "parse_received",
]
