"""Line-end normalisation: every bare CR and bare LF becomes CRLF.

RFC 5321 §2.3.8: "In addition, the appearance of "bare" "CR" or "LF"
characters in text (i.e., either without the other) has a long history of
causing problems in mail implementations and applications that use the mail
system as a tool.  SMTP client implementations MUST NOT transmit these
characters except when they are intended as line terminators and then MUST,
as indicated above, transmit them only as a <CRLF> sequence."  RFC 2046
§4.1.1 says the same of MIME text in canonical form.

So a message that is *line-oriented* (SMTP ``BODY=7BIT`` or ``8BITMIME``,
RFC 6152) and holds a bare line end is sent with that line end as CRLF:
what a mail system does with locally submitted mail with Unix line ends,
and the defence against "SMTP smuggling", where ``"\\n.\\r\\n"`` passed on
unchanged ends the data early at a next hop that reads a bare LF as a line
end.  ``BODY=BINARYMIME`` content (RFC 3030 §3) is *not* line-oriented:
its octets must not be touched.

The rule, the same everywhere in mailproto (this function;
:class:`~mailproto.codecs.dotstuff.DotStuffer` with
``normalize_newlines=True``, which applies it piece by piece):

* CRLF stays CRLF;
* a CR not followed by LF is a line end: CRLF;
* a LF not preceded by CR is a line end: CRLF.

Hence ``b"\\r\\r\\n"`` is a bare CR and then a CRLF (two line ends) and
``b"\\n\\r"`` is two line ends, as a reader that splits on CRLF, CR and LF
alike (:meth:`bytes.splitlines`) sees them.

Speed: the check (:func:`has_bare_line_end`) is one :meth:`bytes.splitlines`
pass (C, memory speed); data without a bare line end -- the normal case for
mail -- is returned as it is, the *same object*, with no copy.  Otherwise
three :meth:`bytes.replace` passes rewrite it.  No per-byte Python loop anywhere.
"""

from __future__ import annotations

from mailproto._buffer import has_bare_line_end

__all__ = ["has_bare_line_end", "normalize_line_endings"]


def normalize_line_endings(data: bytes) -> bytes:
    """*data* with every bare CR and every bare LF turned into CRLF.

    Returns *data* itself (not a copy) when its line ends are all CRLF
    already.  A CR as the very last octet is bare: whole messages end there.
    (To normalise a stream piece by piece, hold a final CR back until the
    next piece shows whether a LF follows, as
    :class:`~mailproto.codecs.dotstuff.DotStuffer` does.)

    >>> normalize_line_endings(b"one\\ntwo\\rthree\\r\\n")
    b'one\\r\\ntwo\\r\\nthree\\r\\n'
    """
    # The check is the one the SMTP and IMAP readers use (one C pass of
    # splitlines; three counts measured ~40 % slower on 100 KB of mail).
    if not has_bare_line_end(data):
        return data
    # Fold every line end to LF (CRLF first, so that its CR is not taken
    # for a bare one), then write each LF as CRLF.  bytes.replace scans left
    # to right without overlap: b"\r\r\n" -> b"\r\n" -> b"\n\n" -> two CRLFs.
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
