"""The IMAP codec against real server output: a recorded Dovecot session.

The test suite starts Dovecot (``tests/interop/dovecot.py``), delivers the
messages of ``../shared/corpus`` and drives one session with commands encoded
by :func:`mailproto.imap.codec.encode_command` — LOGIN, ENABLE, SELECT, FETCH
FULL / ENVELOPE / BODYSTRUCTURE / BODY[] / BINARY / sections, SEARCH and
ESEARCH, LIST-EXTENDED with STATUS, NAMESPACE, ID, APPEND with a
synchronising literal, IDLE/DONE, LOGOUT.  Everything Dovecot sends is kept,
then decoded again — whole, in small chunks and in uneven chunks — and every
response must parse, round-trip through the serialiser, and agree with
facts we know independently (sizes of BODY[] against RFC822.SIZE).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproto import NEED_DATA, Sentinel
from mailproto.imap import codec
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import BinarySizeRequest, SearchKey, Section, SectionRequest, SequenceSet
from mailproto.limits import IMAPLimits
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")

HERE = Path(__file__).resolve()
CORPUS_CANDIDATES = [
    HERE.parents[2].parent / "shared" / "corpus",  # CI: shared/ beside the clone
    Path("/work/shared/corpus"),
]
# Dovecot nests BODYSTRUCTURE as deep as the message does; the corpus has a
# message nesting message/rfc822 thousands deep, which Dovecot cuts off.
LIMITS = IMAPLimits(nesting_depth=400, literal_size=16 * 1024 * 1024, line_length=1 << 24)


def _corpus() -> list[Path]:
    for root in CORPUS_CANDIDATES:
        if root.is_dir():
            return sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and p.name not in ("COPYING", "SOURCES.md")
            )
    pytest.fail("the shared corpus (../shared/corpus) is missing")


class Session:
    """A blocking IMAP client made of the codec and a socket, recording all input."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.decoder = codec.ResponseDecoder(limits=LIMITS)
        self.received = bytearray()
        self.counter = 0
        self.greeting = self.next_response()
        assert isinstance(self.greeting, R.StatusResponse) and self.greeting.status == "OK"

    def next_response(self) -> R.Response:
        while True:
            response = self.decoder.next_response()
            if response is not NEED_DATA:
                assert not isinstance(response, Sentinel)
                return response
            data = self.sock.recv(1 << 20)
            assert data, "server closed the connection"
            self.received += data
            self.decoder.receive_data(data)

    def tag(self) -> str:
        self.counter += 1
        return f"T{self.counter}"

    def run(self, command: C.Command) -> list[R.Response]:
        """Send *command* (waiting for + before sync literals); return responses."""
        out: list[R.Response] = []
        for fragment in codec.encode_command(command):
            if isinstance(fragment, codec.LiteralFragment) and fragment.sync:
                cont = self.next_response()
                assert isinstance(cont, R.Continuation), cont
                out.append(cont)
            self.sock.sendall(fragment.data)
        if isinstance(command, C.Idle):
            cont = self.next_response()
            assert isinstance(cont, R.Continuation), cont
            out.append(cont)
            self.sock.sendall(codec.serialize_command(C.Done()))
        while True:
            response = self.next_response()
            out.append(response)
            if isinstance(response, R.StatusResponse) and response.tag == command.tag:
                assert response.status == "OK", response
                return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def recorded(dovecot: DovecotServer) -> Iterator[tuple[bytes, list[R.Response], int]]:
    messages = _corpus()
    for path in messages:
        dovecot.deliver("alice", path.read_bytes())
    s = Session(dovecot.host, dovecot.imap_port)
    responses: list[R.Response] = [s.greeting]
    try:
        t = s.tag
        responses += s.run(C.Capability(tag=t()))
        responses += s.run(C.Login(tag=t(), username="alice", password=dovecot.users["alice"]))
        responses += s.run(C.Enable(tag=t(), capabilities=("CONDSTORE",)))
        responses += s.run(C.Id(tag=t(), params=(("name", "mailproto"),)))
        responses += s.run(C.Namespace(tag=t()))
        responses += s.run(C.Create(tag=t(), mailbox="Entwürfe-台北"))
        responses += s.run(
            C.List(
                tag=t(),
                reference="",
                patterns=("*",),
                return_options=("CHILDREN", "SUBSCRIBED"),
                return_status=("MESSAGES", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"),
            )
        )
        responses += s.run(C.Lsub(tag=t(), reference="", pattern="*"))
        responses += s.run(C.Status(tag=t(), mailbox="INBOX", items=("MESSAGES", "UIDNEXT")))
        responses += s.run(C.Select(tag=t(), mailbox="INBOX", condstore=True))
        every = SequenceSet.of((1, "*"))
        responses += s.run(C.Fetch(tag=t(), sequence_set=every, attributes="FULL"))
        responses += s.run(
            C.Fetch(
                tag=t(),
                sequence_set=every,
                uid=True,
                attributes=(
                    "UID",
                    "FLAGS",
                    "INTERNALDATE",
                    "RFC822.SIZE",
                    "ENVELOPE",
                    "BODYSTRUCTURE",
                    "MODSEQ",
                ),
            )
        )
        responses += s.run(
            C.Fetch(tag=t(), sequence_set=every, attributes=("RFC822.SIZE", SectionRequest()))
        )
        responses += s.run(
            C.Fetch(
                tag=t(),
                sequence_set=every,
                attributes=(
                    SectionRequest(
                        peek=True,
                        section=codec_section("HEADER.FIELDS", ("From", "To", "Subject")),
                    ),
                    SectionRequest(peek=True, section=codec_section("TEXT"), partial=(0, 100)),
                    "BODY",
                ),
            )
        )
        # BINARY (RFC 3516) on a few well-formed messages (Dovecot drops the
        # connection when a part's base64 is broken, as some corpus parts are).
        responses += s.run(
            C.Fetch(
                tag=t(),
                sequence_set=SequenceSet.of((1, 3)),
                attributes=(
                    SectionRequest(peek=True, binary=True, section=codec_section(None, part=(1,))),
                    BinarySizeRequest(part=(1,)),
                ),
            )
        )
        responses += s.run(
            C.Store(tag=t(), sequence_set=SequenceSet.of((1, 5)), mode="+", flags=("\\Flagged",))
        )
        responses += s.run(
            C.Search(
                tag=t(),
                keys=(SearchKey(op="OR", value=(SearchKey(op="FLAGGED"), SearchKey(op="ALL"))),),
            )
        )
        responses += s.run(
            C.Search(
                tag=t(),
                uid=True,
                return_options=("MIN", "MAX", "COUNT", "ALL"),
                keys=(SearchKey(op="FLAGGED"),),
            )
        )
        responses += s.run(
            C.Append(
                tag=t(),
                mailbox="INBOX",
                messages=(C.AppendMessage(data=b"Subject: appended\r\n\r\nhi\r\n", flags=()),),
            )
        )
        responses += s.run(C.Noop(tag=t()))
        responses += s.run(C.Idle(tag=t()))
        responses += s.run(C.Logout(tag=t()))
    finally:
        s.close()
    yield bytes(s.received), responses, len(messages)


def codec_section(
    text: str | None, fields: tuple[str, ...] = (), part: tuple[int, ...] = ()
) -> Section:
    return Section(part=part, text=text, fields=fields)  # type: ignore[arg-type]


def _decode_in_chunks(data: bytes, sizes: list[int]) -> list[R.Response]:
    decoder = codec.ResponseDecoder(limits=LIMITS)
    out: list[R.Response] = []
    pos = 0
    i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        decoder.receive_data(data[pos : pos + size])
        pos += size
        i += 1
        while (r := decoder.next_response()) is not NEED_DATA:
            assert not isinstance(r, Sentinel)
            out.append(r)
    return out


def test_every_response_parses_and_round_trips(
    recorded: tuple[bytes, list[R.Response], int],
) -> None:
    data, responses, count = recorded
    assert len(data) > 1_000_000  # the corpus is ~10 MB; BODY[] alone is most of it
    for response in responses:
        assert codec.parse_response(codec.serialize_response(response), limits=LIMITS) == response
    fetches = [r for r in responses if isinstance(r, R.FetchResponse)]
    assert len({f.seq for f in fetches}) == count
    # FETCH FULL and the metadata FETCH: every message has a typed structure.
    with_structure = [f for f in fetches if f.body_structure is not None]
    assert len(with_structure) == count
    assert all(f.envelope is not None and f.internal_date is not None for f in with_structure)
    # BODY[] literal lengths agree with RFC822.SIZE in the same response.
    bodies = [f for f in fetches if f.sections and f.rfc822_size is not None]
    assert len(bodies) == count
    for f in bodies:
        (section,) = f.sections
        assert section.data is not None and len(section.data) == f.rfc822_size
    # LIST-STATUS, ESEARCH, NAMESPACE, ID, ENABLED were typed, not "unknown".
    kinds = {type(r) for r in responses}
    for cls in (R.ListResponse, R.StatusData, R.Esearch, R.NamespaceResponse, R.IdResponse):
        assert cls in kinds
    assert not any(isinstance(r, R.UnknownResponse) for r in responses)
    names = [r.mailbox for r in responses if isinstance(r, R.ListResponse)]
    assert "Entwürfe-台北" in names  # modified UTF-7 decoded


@pytest.mark.parametrize("sizes", [[1 << 20], [7], [1, 2, 3, 500, 4096, 13]])
def test_chunking_does_not_matter(
    recorded: tuple[bytes, list[R.Response], int], sizes: list[int]
) -> None:
    data, responses, _count = recorded
    if sizes == [7]:
        data = data[:300_000]  # one-byte-ish feeding of 10 MB is slow; a prefix will do
        decoded = _decode_in_chunks(data, sizes)
        assert decoded == responses[: len(decoded)]
        assert len(decoded) > 50
        return
    assert _decode_in_chunks(data, sizes) == responses
