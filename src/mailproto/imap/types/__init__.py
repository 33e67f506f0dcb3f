"""Validated IMAP value types (the "imap-types" layer).

Values shared by commands and responses live here; the commands and
responses themselves are in :mod:`mailproto.imap.types.commands` and
:mod:`mailproto.imap.types.responses` (re-exported as
:mod:`mailproto.imap.commands` and :mod:`mailproto.imap.responses`).
"""

from mailproto.imap.types._literal import ZERO_COPY_THRESHOLD, LiteralChunks
from mailproto.imap.types._seqset import MAX_NZ, SequenceSet
from mailproto.imap.types._values import (
    NIL,
    SIMPLE_FETCH_ATTRIBUTES,
    Address,
    AppendUid,
    BinarySizeRequest,
    BodyExtension,
    BodyStructure,
    CopyUid,
    Disposition,
    Envelope,
    ExtensionValue,
    FetchAttribute,
    Flag,
    ModSeqSearch,
    MultipartBody,
    Nil,
    PreviewRequest,
    ResponseCode,
    SearchKey,
    Section,
    SectionData,
    SectionRequest,
    SinglePartBody,
    flag_key,
)

__all__ = [
    "MAX_NZ",
    "NIL",
    "SIMPLE_FETCH_ATTRIBUTES",
    "ZERO_COPY_THRESHOLD",
    "Address",
    "AppendUid",
    "BinarySizeRequest",
    "BodyExtension",
    "BodyStructure",
    "CopyUid",
    "Disposition",
    "Envelope",
    "ExtensionValue",
    "FetchAttribute",
    "Flag",
    "LiteralChunks",
    "ModSeqSearch",
    "MultipartBody",
    "Nil",
    "PreviewRequest",
    "ResponseCode",
    "SearchKey",
    "Section",
    "SectionData",
    "SectionRequest",
    "SequenceSet",
    "SinglePartBody",
    "flag_key",
]
