"""Hypothesis strategies for every IMAP value, command and response.

Each strategy draws *valid* values: ones the constructors accept and the
grammar can carry.  Where the grammar has two spellings of one value (a
one-element language list and a single string; NIL and an empty address
list) the strategies draw the canonical one the parser returns.
"""

from __future__ import annotations

import datetime
import string
from typing import Any

from hypothesis import strategies as st

from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import (
    MAX_NZ,
    NIL,
    SIMPLE_FETCH_ATTRIBUTES,
    Address,
    AppendUid,
    BinarySizeRequest,
    BodyExtension,
    CopyUid,
    Disposition,
    Envelope,
    ModSeqSearch,
    MultipartBody,
    ResponseCode,
    SearchKey,
    Section,
    SectionData,
    SectionRequest,
    SequenceSet,
    SinglePartBody,
)
from mailproto.imap.types._values import (
    CODES_NOARG,
    CODES_NUMBER,
    SEARCH_KEYS_DATE,
    SEARCH_KEYS_KEYWORD,
    SEARCH_KEYS_NOARG,
    SEARCH_KEYS_NUMBER,
    SEARCH_KEYS_OBJECTID,
    SEARCH_KEYS_STRING,
)

MAX63 = 2**63 - 1

# -- primitives ------------------------------------------------------------------

#: Any text a string can carry: everything but NUL (and no lone surrogates).
text = st.text(
    alphabet=st.characters(codec="utf-8", min_codepoint=1),
    max_size=20,
)
#: One character a string can carry.
one_char = st.text(
    alphabet=st.characters(codec="utf-8", min_codepoint=1),
    min_size=1,
    max_size=1,
)
#: Text that fits on one line (response text): no CR, LF, NUL.
line_text = st.text(
    alphabet=st.characters(codec="utf-8", min_codepoint=1, blacklist_characters="\r\n"),
    max_size=30,
).filter(lambda t: not t.rstrip().endswith("}"))
_ATOM_CHARS = string.ascii_letters + string.digits + "!#$&'+,-./:;<=>?@^_`|}~"
atom = st.text(alphabet=_ATOM_CHARS, min_size=1, max_size=12).filter(lambda a: a.upper() != "NIL")
upper_atom = st.from_regex(r"[A-Z][A-Z0-9\-]{0,10}", fullmatch=True).filter(lambda a: a != "NIL")
tag = st.text(
    alphabet=string.ascii_letters + string.digits + ".-_]", min_size=1, max_size=8
).filter(lambda t: t.upper() != "DONE")
nz = st.integers(1, MAX_NZ)
num32 = st.integers(0, MAX_NZ)
num63 = st.integers(0, MAX63)
objectid = st.from_regex(r"[A-Za-z0-9_\-]{1,20}", fullmatch=True)
flag = st.one_of(
    st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"]),
    atom,
    atom.map(lambda a: "\\" + a),
)
flags = st.lists(flag, max_size=5).map(tuple)
mailbox = text
nstr = st.none() | text


@st.composite
def aware_datetimes(draw: Any) -> datetime.datetime:
    naive: datetime.datetime = draw(
        st.datetimes(
            min_value=datetime.datetime(1000, 1, 1), max_value=datetime.datetime(9999, 12, 31)
        )
    ).replace(microsecond=0)
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    return naive.replace(tzinfo=datetime.timezone(datetime.timedelta(minutes=minutes)))


dates = st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9999, 12, 31))


@st.composite
def sequence_sets(draw: Any, allow_last: bool = True) -> SequenceSet:
    if allow_last and draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
        return SequenceSet(last_result=True)
    ranges = draw(st.lists(st.tuples(nz, nz), max_size=4))
    star = draw(st.sampled_from(["none", "star", "from"]))
    if not ranges and star == "none":
        star = "star"
    star_from = draw(nz) if star == "from" else None
    return SequenceSet(ranges=ranges, star_from=star_from, star=star != "none")


# -- ENVELOPE / BODYSTRUCTURE -----------------------------------------------------

addresses = st.builds(Address, name=nstr, adl=nstr, mailbox=nstr, host=nstr)
address_lists = st.lists(addresses, max_size=3).map(tuple)
envelopes = st.builds(
    Envelope,
    date=nstr,
    subject=nstr,
    from_=address_lists,
    sender=address_lists,
    reply_to=address_lists,
    to=address_lists,
    cc=address_lists,
    bcc=address_lists,
    in_reply_to=nstr,
    message_id=nstr,
)
params = st.lists(st.tuples(text, text), max_size=3).map(tuple)
dispositions = st.none() | st.builds(Disposition, type=text, params=params)
languages = st.none() | st.lists(text, min_size=1, max_size=3).map(tuple)
ext_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | text | num63,
    lambda inner: st.lists(inner, min_size=1, max_size=3).map(tuple),
    max_leaves=5,
)


@st.composite
def extensions(draw: Any, multipart: bool) -> BodyExtension | None:
    count = draw(st.integers(0, 4))
    if count == 0:
        return None
    return BodyExtension(
        count=count,
        md5=None if multipart else draw(nstr),
        params=draw(params) if multipart else (),
        disposition=draw(dispositions) if count > 1 else None,
        language=draw(languages) if count > 2 else None,
        location=draw(nstr) if count > 3 else None,
        extra=tuple(draw(st.lists(ext_values, max_size=2))) if count == 4 else (),
    )


def body_structures(extensible: bool) -> st.SearchStrategy[Any]:
    def leaf(kind: str, inner: Any = None) -> st.SearchStrategy[Any]:
        basic = st.fixed_dictionaries(
            {
                "params": params,
                "id": nstr,
                "description": nstr,
                "encoding": text,
                "size": num63,
                "extension": extensions(False) if extensible else st.none(),
            }
        )
        if kind == "text":
            return st.builds(
                lambda d, sub, lines: SinglePartBody(type="TEXT", subtype=sub, lines=lines, **d),
                basic,
                text,
                num63,
            )
        if kind == "message":
            return st.builds(
                lambda d, env, body, lines: SinglePartBody(
                    type="MESSAGE", subtype="RFC822", envelope=env, body=body, lines=lines, **d
                ),
                basic,
                envelopes,
                inner,
                num63,
            )
        return st.builds(
            lambda d, t, sub: SinglePartBody(type=t, subtype=sub, **d),
            basic,
            text.filter(lambda t: t.upper() not in ("TEXT", "MESSAGE")),
            text,
        )

    base = leaf("text") | leaf("basic")
    return st.recursive(
        base,
        lambda inner: (
            leaf("message", inner)
            | st.builds(
                lambda parts, sub, ext: MultipartBody(
                    parts=tuple(parts), subtype=sub, extension=ext
                ),
                st.lists(inner, min_size=1, max_size=3),
                text,
                extensions(True) if extensible else st.none(),
            )
        ),
        max_leaves=4,
    )


field_names = st.text(
    alphabet="".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != ":"), min_size=1, max_size=10
)


@st.composite
def sections(draw: Any, binary: bool = False) -> Section:
    part = tuple(draw(st.lists(st.integers(1, 50), max_size=3)))
    if binary:
        return Section(part=part)
    choices: list[Any] = [None, "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT"]
    if part:
        choices.append("MIME")
    kind = draw(st.sampled_from(choices))
    fields: tuple[str, ...] = ()
    if kind in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        fields = tuple(draw(st.lists(field_names, min_size=1, max_size=3)))
    return Section(part=part, text=kind, fields=fields)


@st.composite
def section_data(draw: Any) -> SectionData:
    kind = draw(st.sampled_from(["body", "binary", "legacy"]))
    data = draw(st.none() | st.binary(max_size=30))
    if kind == "legacy":
        return SectionData(
            data=data, legacy=draw(st.sampled_from(["RFC822", "RFC822.HEADER", "RFC822.TEXT"]))
        )
    origin = draw(st.none() | num32)
    return SectionData(
        section=draw(sections(binary=kind == "binary")),
        origin=origin,
        data=data,
        binary=kind == "binary",
    )


_KNOWN_FETCH = SIMPLE_FETCH_ATTRIBUTES | {"BODY", "BINARY"}
unknown_fetch_names = upper_atom.filter(
    lambda n: n not in _KNOWN_FETCH and n not in ("BINARY.SIZE",)
)


@st.composite
def fetch_responses(draw: Any) -> R.FetchResponse:
    kw: dict[str, Any] = {}
    opt = {
        "uid": num32,
        "flags": flags,
        "internal_date": aware_datetimes(),
        "rfc822_size": num63,
        "envelope": envelopes,
        "body_structure": body_structures(True),
        "body": body_structures(False),
        "modseq": num63,
        "email_id": objectid,
        "thread_id": objectid | st.just(NIL),
        "preview": text | st.just(NIL),
        "save_date": aware_datetimes() | st.just(NIL),
        "binary_sizes": st.lists(
            st.tuples(st.lists(st.integers(1, 50), max_size=3).map(tuple), num63), max_size=2
        ).map(tuple),
        "sections": st.lists(section_data(), max_size=2).map(tuple),
        "extra": st.lists(st.tuples(unknown_fetch_names, ext_values), max_size=2).map(tuple),
    }
    chosen = draw(st.sets(st.sampled_from(sorted(opt)), min_size=1, max_size=6))
    for key in chosen:
        kw[key] = draw(opt[key])
    if not any(kw.get(k) for k in ("binary_sizes", "sections", "extra")) and all(
        k in ("binary_sizes", "sections", "extra") for k in kw
    ):
        kw["uid"] = draw(num32)
    # Unknown items must be unique (a later one replaces an earlier one).
    if "extra" in kw:
        seen: dict[str, Any] = {}
        for k, v in kw["extra"]:
            seen[k] = v
        kw["extra"] = tuple(seen.items())
    return R.FetchResponse(seq=draw(nz), **kw)


# -- response codes and responses ---------------------------------------------------


@st.composite
def response_codes(draw: Any) -> ResponseCode:
    kind = draw(
        st.sampled_from(
            [
                "noarg",
                "number",
                "CAPABILITY",
                "PERMANENTFLAGS",
                "BADCHARSET",
                "APPENDUID",
                "COPYUID",
                "MODIFIED",
                "MAILBOXID",
                "unknown",
            ]
        )
    )
    if kind == "noarg":
        return ResponseCode(name=draw(st.sampled_from(sorted(CODES_NOARG))))
    if kind == "number":
        return ResponseCode(name=draw(st.sampled_from(sorted(CODES_NUMBER))), value=draw(num63))
    if kind == "CAPABILITY":
        return ResponseCode(name=kind, value=tuple(draw(st.lists(atom, min_size=1, max_size=4))))
    if kind == "PERMANENTFLAGS":
        return ResponseCode(name=kind, value=draw(flags))
    if kind == "BADCHARSET":
        return ResponseCode(
            name=kind, value=draw(st.none() | st.lists(text, min_size=1, max_size=3).map(tuple))
        )
    if kind == "APPENDUID":
        return ResponseCode(
            name=kind,
            value=AppendUid(uidvalidity=draw(nz), uids=draw(sequence_sets(allow_last=False))),
        )
    if kind == "COPYUID":
        return ResponseCode(
            name=kind,
            value=CopyUid(
                uidvalidity=draw(nz),
                source=draw(sequence_sets(allow_last=False)),
                dest=draw(sequence_sets(allow_last=False)),
            ),
        )
    if kind == "MODIFIED":
        return ResponseCode(name=kind, value=draw(sequence_sets()))
    if kind == "MAILBOXID":
        return ResponseCode(name=kind, value=draw(objectid))
    known = (
        CODES_NOARG
        | CODES_NUMBER
        | {
            "CAPABILITY",
            "PERMANENTFLAGS",
            "BADCHARSET",
            "APPENDUID",
            "COPYUID",
            "MODIFIED",
            "MAILBOXID",
        }
    )
    name = draw(upper_atom.filter(lambda n: n not in known))
    raw = draw(
        st.none()
        | st.text(
            alphabet=string.printable.replace("]", "")
            .replace("\r", "")
            .replace("\n", "")
            .replace("\x0b", "")
            .replace("\x0c", ""),
            max_size=15,
        )
    )
    return ResponseCode(name=name, value=raw)


resp_text = line_text.filter(lambda t: not t.startswith("["))
_KNOWN_UNTAGGED = {
    "OK", "NO", "BAD", "PREAUTH", "BYE", "CAPABILITY", "ENABLED", "FLAGS", "LIST", "LSUB",
    "STATUS", "SEARCH", "ESEARCH", "NAMESPACE", "ID", "VANISHED", "QUOTA", "QUOTAROOT",
}  # fmt: skip

namespace_descriptions = st.builds(
    R.NamespaceDescription,
    prefix=text,
    delimiter=st.none() | one_char,
    extensions=st.lists(st.tuples(text, st.lists(text, max_size=2).map(tuple)), max_size=2).map(
        tuple
    ),
)
namespace_groups = st.lists(namespace_descriptions, max_size=2).map(tuple)
status_items = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["MESSAGES", "UIDNEXT", "UNSEEN", "SIZE", "RECENT"]), num63),
        st.tuples(st.just("APPENDLIMIT"), st.none() | num63),
        st.tuples(st.just("MAILBOXID"), objectid),
    ),
    max_size=4,
).map(tuple)

responses: st.SearchStrategy[Any] = st.one_of(
    st.builds(R.Continuation, code=st.none() | response_codes(), text=resp_text),
    st.builds(
        R.StatusResponse,
        tag=st.none(),
        status=st.sampled_from(["OK", "NO", "BAD", "PREAUTH", "BYE"]),
        code=st.none() | response_codes(),
        text=resp_text,
    ),
    st.builds(
        R.StatusResponse,
        tag=tag,
        status=st.sampled_from(["OK", "NO", "BAD"]),
        code=st.none() | response_codes(),
        text=resp_text,
    ),
    st.builds(R.CapabilityResponse, capabilities=st.lists(atom, max_size=4).map(tuple)),
    st.builds(R.Enabled, capabilities=st.lists(atom, max_size=4).map(tuple)),
    st.builds(
        R.IdResponse,
        params=st.none() | st.lists(st.tuples(text, nstr), max_size=3).map(tuple),
    ),
    st.builds(
        R.ListResponse,
        attributes=flags,
        delimiter=st.none() | one_char,
        mailbox=mailbox,
        extended=st.lists(st.tuples(upper_atom, ext_values), max_size=2).map(tuple),
        lsub=st.booleans(),
    ),
    st.builds(R.StatusData, mailbox=mailbox, items=status_items),
    st.builds(
        R.NamespaceResponse,
        personal=namespace_groups,
        other=namespace_groups,
        shared=namespace_groups,
    ),
    st.builds(R.FlagsResponse, flags=flags),
    st.builds(
        R.SearchResponse, numbers=st.lists(num32, max_size=5).map(tuple), modseq=st.none() | num63
    ),
    st.builds(
        R.Esearch,
        tag=st.none() | text,
        uid=st.booleans(),
        min=st.none() | num32,
        max=st.none() | num32,
        count=st.none() | num32,
        all=st.none() | sequence_sets(allow_last=False),
        modseq=st.none() | num63,
        extra=st.lists(
            st.tuples(
                upper_atom.filter(
                    lambda n: n not in ("MIN", "MAX", "COUNT", "ALL", "MODSEQ", "UID")
                ),
                ext_values,
            ),
            max_size=2,
        ).map(tuple),
    ),
    st.builds(R.Exists, count=num32),
    st.builds(R.Recent, count=num32),
    st.builds(R.ExpungeResponse, seq=nz),
    st.builds(R.Vanished, earlier=st.booleans(), uids=sequence_sets(allow_last=False)),
    fetch_responses(),
    st.builds(
        R.QuotaResponse,
        root=text,
        resources=st.lists(st.tuples(upper_atom, num63, num63), max_size=3).map(tuple),
    ),
    st.builds(R.QuotaRootResponse, mailbox=mailbox, roots=st.lists(text, max_size=3).map(tuple)),
    st.builds(
        R.UnknownResponse,
        name=upper_atom.filter(lambda n: n not in _KNOWN_UNTAGGED),
        number=st.none(),
        text=line_text.filter(lambda t: not t.startswith(" ")),
    ),
    st.builds(
        R.UnknownResponse,
        name=upper_atom.filter(lambda n: n not in ("FETCH", "EXISTS", "RECENT", "EXPUNGE")),
        number=num32,
        text=line_text.filter(lambda t: not t.startswith(" ")),
    ),
)


# -- commands -------------------------------------------------------------------------


def search_keys() -> st.SearchStrategy[SearchKey]:
    leaves = st.one_of(
        st.sampled_from(sorted(SEARCH_KEYS_NOARG)).map(lambda op: SearchKey(op=op)),
        st.builds(SearchKey, op=st.sampled_from(sorted(SEARCH_KEYS_STRING)), value=text),
        st.builds(SearchKey, op=st.sampled_from(sorted(SEARCH_KEYS_KEYWORD)), value=atom),
        st.builds(SearchKey, op=st.sampled_from(sorted(SEARCH_KEYS_DATE)), value=dates),
        st.builds(SearchKey, op=st.sampled_from(sorted(SEARCH_KEYS_NUMBER)), value=num63),
        st.builds(SearchKey, op=st.sampled_from(sorted(SEARCH_KEYS_OBJECTID)), value=objectid),
        st.builds(SearchKey, op=st.sampled_from(["UID", "SEQ"]), value=sequence_sets()),
        st.builds(SearchKey, op=st.just("HEADER"), value=st.tuples(text, text)),
        st.builds(
            SearchKey,
            op=st.just("MODSEQ"),
            value=st.one_of(
                st.builds(ModSeqSearch, modseq=num63),
                st.builds(
                    ModSeqSearch,
                    modseq=num63,
                    entry=text,
                    entry_type=st.sampled_from(["priv", "shared", "all"]),
                ),
            ),
        ),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(SearchKey.not_, inner),
            st.builds(SearchKey.or_, inner, inner),
            st.lists(inner, min_size=1, max_size=3).map(lambda ks: SearchKey.and_(*ks)),
        ),
        max_leaves=6,
    )


fetch_attributes = st.one_of(
    st.sampled_from(sorted(SIMPLE_FETCH_ATTRIBUTES)),
    st.builds(
        SectionRequest,
        section=sections(),
        peek=st.booleans(),
        partial=st.none() | st.tuples(num32, nz),
    ),
    st.builds(
        SectionRequest,
        section=sections(binary=True),
        peek=st.booleans(),
        binary=st.just(True),
        partial=st.none() | st.tuples(num32, nz),
    ),
    st.builds(BinarySizeRequest, part=st.lists(st.integers(1, 50), max_size=3).map(tuple)),
)


@st.composite
def qresyncs(draw: Any) -> C.QResync:
    known = draw(st.none() | sequence_sets(allow_last=False))
    match = draw(
        st.none() | st.tuples(sequence_sets(allow_last=False), sequence_sets(allow_last=False))
    )
    return C.QResync(uidvalidity=draw(nz), modseq=draw(num63), known_uids=known, seq_match=match)


@st.composite
def list_commands(draw: Any) -> C.List:
    # RFC 5819 §6: RETURN (STATUS (...)) names at least one item.
    status = draw(st.none() | st.lists(upper_atom, min_size=1, max_size=3).map(tuple))
    options = draw(
        st.lists(upper_atom.filter(lambda a: a != "STATUS"), max_size=3).map(tuple)
        if status is not None
        else st.none() | st.lists(upper_atom.filter(lambda a: a != "STATUS"), max_size=3).map(tuple)
    )
    return C.List(
        tag=draw(tag),
        reference=draw(mailbox),
        patterns=tuple(draw(st.lists(mailbox, min_size=1, max_size=3))),
        selection=draw(st.none() | st.lists(upper_atom, max_size=3).map(tuple)),
        return_options=options,
        return_status=status,
    )


append_messages = st.one_of(
    st.builds(
        C.AppendMessage,
        data=st.binary(max_size=30).filter(lambda d: b"\x00" not in d),
        flags=st.none() | flags,
        date=st.none() | aware_datetimes(),
    ),
    st.builds(
        C.AppendMessage,
        data=st.binary(max_size=30),
        flags=st.none() | flags,
        date=st.none() | aware_datetimes(),
        binary=st.just(True),
    ),
)

commands: st.SearchStrategy[Any] = st.one_of(
    *[
        st.builds(cls, tag=tag)
        for cls in (
            C.Capability,
            C.Noop,
            C.Logout,
            C.StartTLS,
            C.Namespace,
            C.Idle,
            C.Check,
            C.Close,
            C.Unselect,
        )
    ],
    st.just(C.Done()),
    st.builds(
        C.Authenticate,
        tag=tag,
        mechanism=upper_atom,
        initial_response=st.none() | st.binary(max_size=20),
    ),
    st.builds(C.Login, tag=tag, username=text, password=text),
    st.builds(C.Enable, tag=tag, capabilities=st.lists(atom, min_size=1, max_size=3).map(tuple)),
    st.builds(
        C.Select, tag=tag, mailbox=mailbox, condstore=st.booleans(), qresync=st.none() | qresyncs()
    ),
    st.builds(
        C.Examine, tag=tag, mailbox=mailbox, condstore=st.booleans(), qresync=st.none() | qresyncs()
    ),
    st.builds(C.Create, tag=tag, mailbox=mailbox, special_use=flags),
    st.builds(C.Delete, tag=tag, mailbox=mailbox),
    st.builds(C.Rename, tag=tag, mailbox=mailbox, new_name=mailbox),
    st.builds(C.Subscribe, tag=tag, mailbox=mailbox),
    st.builds(C.Unsubscribe, tag=tag, mailbox=mailbox),
    list_commands(),
    st.builds(C.Lsub, tag=tag, reference=mailbox, pattern=mailbox),
    st.builds(
        C.Status,
        tag=tag,
        mailbox=mailbox,
        items=st.lists(upper_atom, min_size=1, max_size=4).map(tuple),
    ),
    st.builds(
        C.Append,
        tag=tag,
        mailbox=mailbox,
        messages=st.lists(append_messages, min_size=1, max_size=3).map(tuple),
    ),
    st.builds(C.Expunge, tag=tag, uids=st.none() | sequence_sets()),
    st.builds(
        C.Search,
        tag=tag,
        keys=st.lists(search_keys(), min_size=1, max_size=3).map(tuple),
        uid=st.booleans(),
        charset=st.none() | text,
        return_options=st.none() | st.lists(upper_atom, max_size=3).map(tuple),
    ),
    st.builds(
        C.Fetch,
        tag=tag,
        sequence_set=sequence_sets(),
        attributes=st.sampled_from(["ALL", "FAST", "FULL"])
        | st.lists(fetch_attributes, min_size=1, max_size=4).map(tuple),
        uid=st.booleans(),
        changed_since=st.none() | num63,
        vanished=st.booleans(),
    ),
    st.builds(
        C.Store,
        tag=tag,
        sequence_set=sequence_sets(),
        mode=st.sampled_from(["+", "-", ""]),
        flags=flags,
        silent=st.booleans(),
        uid=st.booleans(),
        unchanged_since=st.none() | num63,
    ),
    st.builds(C.Copy, tag=tag, sequence_set=sequence_sets(), mailbox=mailbox, uid=st.booleans()),
    st.builds(C.Move, tag=tag, sequence_set=sequence_sets(), mailbox=mailbox, uid=st.booleans()),
    st.builds(
        C.Id, tag=tag, params=st.none() | st.lists(st.tuples(text, nstr), max_size=3).map(tuple)
    ),
    st.builds(C.Compress, tag=tag, mechanism=upper_atom),
    st.builds(C.GetQuota, tag=tag, root=text),
    st.builds(C.GetQuotaRoot, tag=tag, mailbox=mailbox),
    st.builds(
        C.SetQuota,
        tag=tag,
        root=text,
        limits=st.lists(st.tuples(upper_atom, num63), max_size=3).map(tuple),
    ),
)
