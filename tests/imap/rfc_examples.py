# ruff: noqa: E501
"""Wire examples from the RFCs, as (bytes, canonical) pairs.

``canonical`` is True when our serialiser must reproduce the example byte for
byte; otherwise the example uses a legal but different spelling (an atom
where we send a quoted string, a lower-case keyword ...) and only
``parse(serialize(parse(x))) == parse(x)`` is checked.

Two collections:

* :data:`RESPONSES` and :data:`COMMANDS`: single messages covering grammar
  corners (every response code, search key, fetch item ...), grouped by the
  RFC section they exercise.  They were written for coverage, not copied
  from the RFC text.
* :data:`TEXT_EXAMPLES`: every ``Example:`` block of RFC 3501 §§6-7,
  RFC 9051 §§6-7 and the extension RFCs, as the RFC prints it (wrapped lines
  joined; lines that are not protocol, such as "<TLS negotiation...>", left
  out).  ``C:``/``S:`` are client and server lines, ``A:`` a SASL answer,
  ``C~``/``S~`` a message our serialiser spells differently (the comment
  above says how).  Where an RFC example is itself malformed (two spaces
  for one SP, a missing SP, BADCHARSET without parentheses), the corrected
  form is tested and the comment says what the RFC text has.

Coverage of TEXT_EXAMPLES: RFC 3501 §§6-7, RFC 9051 §§6-7 and every Example
block of RFC 7888, 7162, 5258, 5819, 6154, 2342, 5161, 9208, 4315, 6851,
4978, 4959, 2177, 3691, 5530, 8474 and 8970, as stored in the RFC text
(lines the RFC elides -- "...", "[...]", "(...)" -- left out).  RFC 3516
has no Example block.  RFC 2971 (ID) was not available as text here; its
example is among the recalled COMMANDS/RESPONSES.  Lines the codec cannot
handle are marked ``NOT TESTED`` with the reason (SORT, METADATA).
"""

from __future__ import annotations

from typing import NamedTuple

# ---- server responses --------------------------------------------------------

RESPONSES: list[tuple[bytes, bool]] = [
    # RFC 3501 §7.1 / RFC 9051 §7.1: status responses
    (b"* OK IMAP4rev1 server ready\r\n", True),
    (b"* OK [ALERT] System shutdown in 10 minutes\r\n", True),
    (b"A001 OK LOGIN Completed\r\n", True),
    (b"* NO Disk is 98% full, please delete unnecessary data\r\n", True),
    (b"A222 OK COPY completed\r\n", True),
    (b"* NO Disk is 99% full, please delete unnecessary data\r\n", True),
    (b"A223 NO COPY failed: disk is full\r\n", True),
    (b"* BAD Command line too long\r\n", True),
    (b"* BAD Empty command line\r\n", True),
    (b"A443 BAD Expunge? Not now.\r\n", True),
    (b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n", True),
    (b"* BYE Autologout; idle for too long\r\n", True),
    (b"* OK [UNSEEN 12] Message 12 is first unseen\r\n", True),
    (b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", True),
    (b"* OK [UIDNEXT 4392] Predicted next UID\r\n", True),
    (b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n", True),
    (b"A142 OK [READ-WRITE] SELECT completed\r\n", True),
    (b"A932 OK [READ-ONLY] EXAMINE completed\r\n", True),
    (b"A003 NO [TRYCREATE] Mailbox does not exist\r\n", True),
    (b"* OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI] Dovecot ready.\r\n", True),
    (b"* OK [PARSE] Header parse error in message 3\r\n", True),
    (b"A1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n", True),
    (b"A1 NO [BADCHARSET] Unsupported charset\r\n", True),
    (b"* OK [HASCHILDREN] Mailbox has children\r\n", True),
    (b"* BYE [ALERT] Bye\r\n", True),
    # RFC 5530 response codes
    (b"a NO [UNAVAILABLE] User's backend down for maintenance\r\n", True),
    (b"b NO [AUTHENTICATIONFAILED] Authentication failed\r\n", True),
    (b"c NO [AUTHORIZATIONFAILED] No such authorization-ID\r\n", True),
    (b"d NO [EXPIRED] That password isn't valid any more\r\n", True),
    (b"e NO [PRIVACYREQUIRED] Connection offers no privacy\r\n", True),
    (b"f NO [CONTACTADMIN] You need to ask your administrator\r\n", True),
    (b"g NO [NOPERM] Access denied\r\n", True),
    (b"h NO [INUSE] Mailbox in use\r\n", True),
    (b"i OK [EXPUNGEISSUED] Search completed\r\n", True),
    (b"j NO [CORRUPTION] Cannot open mailbox\r\n", True),
    (b"k NO [SERVERBUG] Not implemented yet\r\n", True),
    (b"l NO [CLIENTBUG] Not supported\r\n", True),
    (b"m NO [CANNOT] Adjacent slashes are not supported\r\n", True),
    (b"n NO [LIMIT] At most 32 flags in one mailbox supported\r\n", True),
    (b"o NO [OVERQUOTA] Sorry\r\n", True),
    (b'p NO [ALREADYEXISTS] Mailbox "that" already exists\r\n', True),
    (b"q NO [NONEXISTENT] No such mailbox\r\n", True),
    # RFC 4315 (UIDPLUS)
    (b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n", True),
    (b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n", True),
    (b"A005 OK [UIDNOTSTICKY] Non-persistent UIDs\r\n", True),
    # RFC 7162 (CONDSTORE / QRESYNC)
    (b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n", True),
    (b"* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n", True),
    (b"d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n", True),
    (b"* OK [CLOSED] Previous mailbox closed\r\n", True),
    (b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n", True),
    (b"* VANISHED 405,407,410,425\r\n", True),
    (b"* 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\\Seen))\r\n", False),  # item order
    (b"* 50 FETCH (MODSEQ (12111230047))\r\n", True),
    (b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n", True),
    # unknown response code: kept
    (b"* OK [XPROPRIETARY some stuff here] text\r\n", True),
    (b"* NO [REFERRAL imap://user;AUTH=*@SERVER2/] Remote\r\n", True),
    # RFC 3501 §7.2, RFC 9051 §7.2-7.3: server and mailbox status
    (b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI XPIG-LATIN\r\n", True),
    (b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n", True),
    (b"* ENABLED CONDSTORE QRESYNC\r\n", True),
    (b"* ENABLED\r\n", True),
    (b'* LIST (\\Noselect) "/" ~/Mail/foo\r\n', True),
    (b'* LIST () "." #news.comp.mail.misc\r\n', True),
    (b'* LIST (\\Noselect) "/" ""\r\n', True),
    (b'* LIST (\\Noselect) "." #news.\r\n', True),
    (b"* LIST () NIL INBOX\r\n", True),
    (b'* LSUB () "." #news.comp.mail.misc\r\n', True),
    (b'* LSUB (\\NoSelect) "." #news.comp.mail\r\n', True),
    (b'* LIST (\\Marked \\HasNoChildren) "/" Fruit/Banana\r\n', True),
    (b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n', True),
    (b'* LIST (\\Subscribed) "/" "Fruit/Peach"\r\n', False),
    (b'* LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))\r\n', True),
    (b'* LIST () "/" Foo ("OLDNAME" ("Bar"))\r\n', True),
    (b'* LIST (\\HasNoChildren) "." "&ZeVnLIqe-"\r\n', False),
    (b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n", True),
    (b"* STATUS INBOX (MESSAGES 17 UNSEEN 16 SIZE 44210 DELETED 2)\r\n", True),
    (b"* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))\r\n", True),
    (b"* STATUS bar (APPENDLIMIT NIL)\r\n", True),
    (b"* SEARCH 2 3 6\r\n", True),
    (b"* SEARCH\r\n", True),
    (b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n', True),
    (b'* ESEARCH (TAG "A283") ALL 2,10:11\r\n', True),
    (b'* ESEARCH (TAG "A284") MIN 4\r\n', True),
    (b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n', True),
    (b'* ESEARCH (TAG "A286") COUNT 15\r\n', True),
    (b'* ESEARCH (TAG "a") UID ALL 1:3,5 MODSEQ 1236\r\n', True),
    (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n", True),
    (b"* 23 EXISTS\r\n", True),
    (b"* 5 RECENT\r\n", True),
    (b"* 44 EXPUNGE\r\n", True),
    (b'* NAMESPACE (("" "/")) NIL NIL\r\n', True),
    (b'* NAMESPACE NIL NIL (("" "."))\r\n', True),
    (b'* NAMESPACE (("" "/")) (("~" "/")) NIL\r\n', True),
    (
        b'* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")'
        b'("#public/" "/")("#ftp/" "/")("#news." "."))\r\n',
        True,
    ),
    (b'* NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL\r\n', True),
    (b'* NAMESPACE (("INBOX." ".")) NIL NIL\r\n', True),
    # RFC 2971 (ID)
    (
        b'* ID ("name" "Cyrus" "version" "1.5" "os" "sunos" "os-version" "5.5" '
        b'"support-url" "mailto:cyrus-bugs+@andrew.cmu.edu")\r\n',
        True,
    ),
    (b"* ID NIL\r\n", True),
    # RFC 9208 (QUOTA)
    (b'* QUOTA "" (STORAGE 10 512)\r\n', True),
    (b'* QUOTAROOT INBOX ""\r\n', True),
    (b"* QUOTAROOT comp.mail.mime\r\n", True),
    # RFC 3501 §7.4-7.5: message status
    (b"* 23 FETCH (FLAGS (\\Seen) RFC822.SIZE 44827)\r\n", True),
    (b"* 2 FETCH (FLAGS (\\Deleted \\Seen))\r\n", True),
    (b"* 4 FETCH (UID 4828442 FLAGS (\\Seen))\r\n", True),
    (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
        b'"IMAP4rev1 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")'
        b'("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>") '
        b'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n',
        True,
    ),
    (
        b'* 3 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) '
        b'"MIXED"))\r\n',
        True,
    ),
    (
        b'* 3 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" '
        b"3028 92 NIL NIL NIL NIL))\r\n",
        True,
    ),
    (
        b'* 5 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" '
        b'200 5 NIL NIL NIL NIL)("APPLICATION" "PDF" ("NAME" "a.pdf") NIL NIL "BASE64" 4000 NIL '
        b'("ATTACHMENT" ("FILENAME" "a.pdf")) ("en" "de") "http://x/y") "MIXED" '
        b'("BOUNDARY" "xyz") NIL NIL NIL))\r\n',
        True,
    ),
    (
        b'* 6 FETCH (BODYSTRUCTURE ("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 500 '
        b'("Mon, 1 Jan 2024 00:00:00 +0000" "Inner" (("A" NIL "a" "x.org")) NIL NIL '
        b'(("B" NIL "b" "y.org")) NIL NIL NIL "<id@x>") '
        b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 20 1 NIL NIL NIL NIL) 12 '
        b"NIL NIL NIL NIL))\r\n",
        True,
    ),
    (b"* 7 FETCH (BODY[TEXT] {5}\r\nhello)\r\n", True),
    (b"* 7 FETCH (BODY[] NIL)\r\n", True),
    (b"* 7 FETCH (BODY[1.2.HEADER.FIELDS (DATE FROM)] {4}\r\nab\r\n)\r\n", True),
    (b"* 8 FETCH (BODY[]<0> {3}\r\nabc)\r\n", True),
    (b"* 8 FETCH (RFC822.HEADER {5}\r\nA\r\n\r\n RFC822.TEXT {2}\r\nhi)\r\n", True),
    (b'* 8 FETCH (RFC822 "x")\r\n', False),
    (b"* 9 FETCH (BINARY[1] ~{3}\r\na\x00b)\r\n", True),
    (b"* 9 FETCH (BINARY.SIZE[1] 1234)\r\n", True),
    (b'* 9 FETCH (INTERNALDATE " 1-Aug-2002 22:00:00 -0700")\r\n', True),
    # RFC 8474 (OBJECTID)
    (b"* 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))\r\n", True),
    (b"* 3 FETCH (EMAILID (M1234) THREADID NIL)\r\n", True),
    # RFC 8970 (PREVIEW)
    (b'* 1 FETCH (UID 3 PREVIEW "Hi all, the meeting is at 3.")\r\n', True),
    (b"* 2 FETCH (UID 4 PREVIEW NIL)\r\n", True),
    # an unknown FETCH item and an unknown untagged response are kept
    (b'* 2 FETCH (UID 4 X-GM-LABELS ("\\\\Inbox" "Work"))\r\n', False),
    (b"* XSTATE something (odd)\r\n", True),
    (b"* 3 XCOUNT 12\r\n", True),
    # continuation requests
    (b"+ Ready for additional command text\r\n", True),
    (b"+ YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iDBsKSU1BUC5DTUMuRURVo0MwQaADAgEB\r\n", True),
    (b"+ \r\n", True),
    (b"+\r\n", False),
    (b"+ idling\r\n", True),
    (b"+ [ALERT] wait\r\n", True),
]

# ---- client commands ---------------------------------------------------------

COMMANDS: list[tuple[bytes, bool]] = [
    # RFC 3501 / RFC 9051 §6.1
    (b"abcd CAPABILITY\r\n", True),
    (b"a002 NOOP\r\n", True),
    (b"A023 LOGOUT\r\n", True),
    # §6.2
    (b"a001 STARTTLS\r\n", True),
    (b"A001 AUTHENTICATE GSSAPI\r\n", True),
    (b"a001 LOGIN SMITH SESAME\r\n", True),
    (b'a001 LOGIN "smith" "sesame with spaces"\r\n', False),
    (b"A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n", False),
    # RFC 4959 (SASL-IR)
    (b"a001 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n", True),
    (b"a002 AUTHENTICATE EXTERNAL =\r\n", True),
    # §6.3
    (b"A142 SELECT INBOX\r\n", True),
    (b"A932 EXAMINE blurdybloop\r\n", True),
    (b"A003 CREATE owatagusiam/\r\n", True),
    (b"A004 CREATE owatagusiam/blurdybloop\r\n", True),
    (b"A682 DELETE blurdybloop\r\n", True),
    (b"A683 RENAME blurdybloop sarasoop\r\n", True),
    (b"Z433 RENAME INBOX old-mail\r\n", True),
    (b"A002 SUBSCRIBE #news.comp.mail.mime\r\n", True),
    (b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n", True),
    (b'A101 LIST "" ""\r\n', True),
    (b'A102 LIST #news.comp.mail.misc ""\r\n', True),
    (b'A103 LIST /usr/staff/jones ""\r\n', True),
    (b"A202 LIST ~/Mail/ %\r\n", True),
    (b'A685 LIST "" *\r\n', True),
    (b'A002 LSUB "#news." "comp.mail.*"\r\n', False),
    (b'A003 LSUB "#news." "comp.%"\r\n', False),
    (b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", True),
    (
        b"A003 APPEND saved-messages (\\Seen) {26}\r\nSubject: hi\r\n\r\nHello Joe\r\n\r\n",
        True,
    ),
    (
        b'A004 APPEND drafts (\\Draft $Work) " 1-Aug-2002 22:00:00 -0700" {3}\r\nabc\r\n',
        True,
    ),
    (b"A005 APPEND drafts ~{3}\r\na\x00c\r\n", True),
    # RFC 3502 (MULTIAPPEND)
    (
        b'A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Seen) " 1-Aug-2002 22:00:00 -0700" '
        b"{2}\r\nde\r\n",
        True,
    ),
    # §6.4
    (b"FXXZ CHECK\r\n", True),
    (b"A341 CLOSE\r\n", True),
    (b"A202 EXPUNGE\r\n", True),
    (b'A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"\r\n', False),
    (b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM Smith\r\n", True),
    (b'A283 SEARCH TEXT "string not in mailbox"\r\n', True),
    (b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\n\xe2\x80\x9c\xe2\x80\x9d\r\n", False),
    (b"A285 SEARCH OR (FROM a SUBJECT b) NOT (LARGER 100 SMALLER 10) 1:5,7 UID 2:*\r\n", True),
    (
        b"A286 SEARCH HEADER X-Spam yes KEYWORD $Junk UNKEYWORD $Forwarded BEFORE 5-Mar-2020\r\n",
        True,
    ),
    (
        b"A287 SEARCH ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN\r\n",
        True,
    ),
    (
        b"A288 SEARCH BCC x BODY y CC z TO w SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000 ON 4-Jan-2000\r\n",
        True,
    ),
    (b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n", True),
    (
        b"A655 FETCH 1 (BODY.PEEK[1.2.MIME] BODY[]<0.2048> BINARY.PEEK[1]<0.100> BINARY.SIZE[1])\r\n",
        True,
    ),
    (b"A656 FETCH 1:* ALL\r\n", True),
    (b"A657 FETCH 1 FULL\r\n", True),
    (b"A658 FETCH 1 FAST\r\n", True),
    (b"A659 FETCH 1 BODY[HEADER.FIELDS.NOT (Received)]\r\n", False),
    (
        b"A660 FETCH 1 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID)\r\n",
        True,
    ),
    (b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n", True),
    (b"A004 STORE 2:4 -FLAGS.SILENT (\\Seen $Junk)\r\n", True),
    (b"A005 STORE 1 FLAGS ()\r\n", True),
    (b"A006 STORE 1 +FLAGS \\Deleted\r\n", False),
    (b"A003 COPY 2:4 MEETING\r\n", True),
    (b"A999 UID FETCH 4827313:4828442 FLAGS\r\n", False),
    (b"A999 UID FETCH 4827313:4828442 (FLAGS)\r\n", True),
    (b"A004 UID STORE 1:* +FLAGS (\\Seen)\r\n", True),
    (b"A005 UID COPY 3:5 Trash\r\n", True),
    (b"A006 UID SEARCH UID 1:100 UNSEEN\r\n", True),
    # RFC 6851 (MOVE), RFC 4315 (UIDPLUS), RFC 3691 (UNSELECT)
    (b"a UID MOVE 42:69 foo\r\n", True),
    (b"b MOVE 1:3 Archive\r\n", True),
    (b"A003 UID EXPUNGE 3000:3002\r\n", True),
    (b"A342 UNSELECT\r\n", True),
    # RFC 2177 (IDLE)
    (b"A001 IDLE\r\n", True),
    (b"DONE\r\n", True),
    # RFC 5161 (ENABLE), RFC 6855
    (b"a1 ENABLE CONDSTORE\r\n", True),
    (b"a2 ENABLE UTF8=ACCEPT QRESYNC\r\n", True),
    # RFC 7162 (CONDSTORE / QRESYNC)
    (b"A142 SELECT INBOX (CONDSTORE)\r\n", True),
    (b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n", True),
    (
        b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 "
        b"(5000,7500,9000,9990:9999 15000,22500,27000,29970)))\r\n",
        True,
    ),
    (b"A03 EXAMINE INBOX (QRESYNC (1 2))\r\n", True),
    (b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n", True),
    (b"a103 UID STORE 4,6,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n", True),
    (b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338\r\n', True),
    (b"b SEARCH MODSEQ 620162338\r\n", True),
    # RFC 4731 / RFC 9051 (ESEARCH), RFC 5182 (SEARCHRES)
    (b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM Smith\r\n", True),
    (b"A283 SEARCH RETURN () FLAGGED\r\n", True),
    (b"A301 SEARCH RETURN (SAVE) SINCE 1-Jan-2004\r\n", True),
    (b"A302 FETCH $ (UID FLAGS)\r\n", True),
    (b"A303 SEARCH $ SMALLER 4096\r\n", True),
    # RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE)
    (b'A02 LIST (SUBSCRIBED) "" *\r\n', True),
    (b'A03 LIST () "" % RETURN (CHILDREN)\r\n', True),
    (b'A04 LIST (REMOTE) "" % RETURN (CHILDREN)\r\n', True),
    (b'A05 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)\r\n', True),
    (b'A06 LIST "" (INBOX Drafts Sent/%)\r\n', True),
    (b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))\r\n', True),
    (b't1 LIST (SPECIAL-USE) "" *\r\n', True),
    (b'T2 LIST "" * RETURN (SPECIAL-USE)\r\n', True),
    (b"C3 CREATE MySpecialArchive (USE (\\Archive))\r\n", True),
    (b'C4 CREATE "Important Messages" (USE (\\Important))\r\n', True),
    # RFC 2342 (NAMESPACE), RFC 2971 (ID), RFC 4978 (COMPRESS)
    (b"A001 NAMESPACE\r\n", True),
    (b'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")\r\n', True),
    (b"a024 ID NIL\r\n", True),
    (b"a001 COMPRESS DEFLATE\r\n", True),
    # RFC 9208 (QUOTA)
    (b'G GETQUOTA ""\r\n', True),
    (b"G GETQUOTAROOT INBOX\r\n", True),
    (b'S SETQUOTA "" (STORAGE 512)\r\n', True),
    # RFC 8474 (OBJECTID), RFC 8970 (PREVIEW)
    (b"a SEARCH EMAILID M6d99ac3275bb4e\r\n", True),
    (b"b SEARCH THREADID T64b478a75b7ea9\r\n", True),
    (b"c FETCH 1:* (EMAILID THREADID PREVIEW)\r\n", True),
    # modified UTF-7 mailbox names
    (b"A1 SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n", True),
    (b"A2 CREATE R&-D\r\n", True),
]


# ---- the RFCs' Example: blocks, verbatim ------------------------------------


class TextExample(NamedTuple):
    """One ``Example:`` block of an RFC."""

    #: The RFC number.
    rfc: str
    #: The section holding the example.
    section: str
    #: The block: ``C:``/``S:``/``A:`` lines (see the module docstring).
    text: str


TEXT_EXAMPLES: list[TextExample] = [
    # ---- RFC 3501 §6 --------------------------------------------------------
    TextExample(
        "3501",
        "6.1.1",
        r"""
C: abcd CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED
S: abcd OK CAPABILITY completed
C: efgh STARTTLS
S: efgh OK STARTLS completed
C: ijkl CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=GSSAPI AUTH=PLAIN
S: ijkl OK CAPABILITY completed
""",
    ),
    TextExample(
        "3501",
        "6.1.2",
        r"""
C: a002 NOOP
S: a002 OK NOOP completed
C: a047 NOOP
S: * 22 EXPUNGE
S: * 23 EXISTS
S: * 3 RECENT
S: * 14 FETCH (FLAGS (\Seen \Deleted))
S: a047 OK NOOP completed
""",
    ),
    TextExample(
        "3501",
        "6.1.3",
        r"""
C: A023 LOGOUT
S: * BYE IMAP4rev1 Server logging out
S: A023 OK LOGOUT completed
""",
    ),
    TextExample(
        "3501",
        "6.2.1",
        r"""
C: a001 CAPABILITY
S: * CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED
S: a001 OK CAPABILITY completed
C: a002 STARTTLS
S: a002 OK Begin TLS negotiation now
C: a003 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN
S: a003 OK CAPABILITY completed
C: a004 LOGIN joe password
S: a004 OK LOGIN completed
""",
    ),
    # The RFC breaks the base64 lines for print ("not in real authenticators").
    # "S: +" has no space after "+": we write "+ " (RFC 9051 §9 continue-req).
    TextExample(
        "3501",
        "6.2.2",
        r"""
S: * OK IMAP4rev1 Server
C: A001 AUTHENTICATE GSSAPI
S~ +
A: YIIB+wYJKoZIhvcSAQICAQBuggHqMIIB5qADAgEFoQMCAQ6iBwMFACAAAACjggEmYYIBIjCCAR6gAwIBBaESGxB1Lndhc2hpbmd0b24uZWR1oi0wK6ADAgEDoSQwIhsEaW1hcBsac2hpdmFtcy5jYWMud2FzaGluZ3Rvbi5lZHWjgdMwgdCgAwIBAaEDAgEDooHDBIHAcS1GSa5b+fXnPZNmXB9SjL8Ollj2SKyb+3S0iXMljen/jNkpJXAleKTz6BQPzj8duz8EtoOuNfKgweViyn/9B9bccy1uuAE2HI0yC/PHXNNU9ZrBziJ8Lm0tTNc98kUpjXnHZhsMcz5Mx2GR6dGknbI0iaGcRerMUsWOuBmKKKRmVMMdR9T3EZdpqsBd7jZCNMWotjhivd5zovQlFqQ2Wjc2+y46vKP/iXxWIuQJuDiisyXF0Y8+5GTpALpHDc1/pIGmMIGjoAMCAQGigZsEgZg2on5mSuxoDHEA1w9bcW9nFdFxDKpdrQhVGVRDIzcCMCTzvUboqb5KjY1NJKJsfjRQiBYBdENKfzK+g5DlV8nrw81uOcP8NOQCLR5XkoMHC0Dr/80ziQzbNqhxO6652Npft0LQwJvenwDI13YxpwOdMXzkWZN/XrEqOWp6GCgXTBvCyLWLlWnbaUkZdEYbKHBPjd8t/1x5Yg==
S: + YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRAtHTEuOP2BXb9sBYFR4SJlDZxmg39IxmRBOhXRKdDA0uHTCOT9Bq3OsUTXUlk0CsFLoa8j+gvGDlgHuqzWHPSQg==
A:
S: + YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=
A: YDMGCSqGSIb3EgECAgIBAAD/////3LQBHXTpFfZgrejpLlLImPwkhbfa2QteAQAgAG1yYwE=
S: A001 OK GSSAPI authentication successful
""",
    ),
    TextExample(
        "3501",
        "6.2.3",
        r"""
C: a001 LOGIN SMITH SESAME
S: a001 OK LOGIN completed
""",
    ),
    TextExample(
        "3501",
        "6.3.1",
        r"""
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: A142 OK [READ-WRITE] SELECT completed
""",
    ),
    TextExample(
        "3501",
        "6.3.2",
        r"""
C: A932 EXAMINE blurdybloop
S: * 17 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 8] Message 8 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
S: A932 OK [READ-ONLY] EXAMINE completed
""",
    ),
    TextExample(
        "3501",
        "6.3.3",
        r"""
C: A003 CREATE owatagusiam/
S: A003 OK CREATE completed
C: A004 CREATE owatagusiam/blurdybloop
S: A004 OK CREATE completed
""",
    ),
    TextExample(
        "3501",
        "6.3.4",
        r"""
C: A682 LIST "" *
S: * LIST () "/" blurdybloop
S: * LIST (\Noselect) "/" foo
S: * LIST () "/" foo/bar
S: A682 OK LIST completed
C: A683 DELETE blurdybloop
S: A683 OK DELETE completed
C: A684 DELETE foo
S: A684 NO Name "foo" has inferior hierarchical names
C: A685 DELETE foo/bar
S: A685 OK DELETE Completed
C: A686 LIST "" *
S: * LIST (\Noselect) "/" foo
S: A686 OK LIST completed
C: A687 DELETE foo
S: A687 OK DELETE Completed
C: A82 LIST "" *
S: * LIST () "." blurdybloop
S: * LIST () "." foo
S: * LIST () "." foo.bar
S: A82 OK LIST completed
C: A83 DELETE blurdybloop
S: A83 OK DELETE completed
C: A84 DELETE foo
S: A84 OK DELETE Completed
C: A85 LIST "" *
S: * LIST () "." foo.bar
S: A85 OK LIST completed
C: A86 LIST "" %
S: * LIST (\Noselect) "." foo
S: A86 OK LIST completed
""",
    ),
    TextExample(
        "3501",
        "6.3.5",
        r"""
C: A682 LIST "" *
S: * LIST () "/" blurdybloop
S: * LIST (\Noselect) "/" foo
S: * LIST () "/" foo/bar
S: A682 OK LIST completed
C: A683 RENAME blurdybloop sarasoop
S: A683 OK RENAME completed
C: A684 RENAME foo zowie
S: A684 OK RENAME Completed
C: A685 LIST "" *
S: * LIST () "/" sarasoop
S: * LIST (\Noselect) "/" zowie
S: * LIST () "/" zowie/bar
S: A685 OK LIST completed
C: Z432 LIST "" *
S: * LIST () "." INBOX
S: * LIST () "." INBOX.bar
S: Z432 OK LIST completed
C: Z433 RENAME INBOX old-mail
S: Z433 OK RENAME completed
C: Z434 LIST "" *
S: * LIST () "." INBOX
S: * LIST () "." INBOX.bar
S: * LIST () "." old-mail
S: Z434 OK LIST completed
""",
    ),
    TextExample(
        "3501",
        "6.3.6",
        r"""
C: A002 SUBSCRIBE #news.comp.mail.mime
S: A002 OK SUBSCRIBE completed
""",
    ),
    TextExample(
        "3501",
        "6.3.7",
        r"""
C: A002 UNSUBSCRIBE #news.comp.mail.mime
S: A002 OK UNSUBSCRIBE completed
""",
    ),
    TextExample(
        "3501",
        "6.3.8",
        r"""
C: A101 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: A101 OK LIST Completed
C: A102 LIST #news.comp.mail.misc ""
S: * LIST (\Noselect) "." #news.
S: A102 OK LIST Completed
C: A103 LIST /usr/staff/jones ""
S: * LIST (\Noselect) "/" /
S: A103 OK LIST Completed
C: A202 LIST ~/Mail/ %
S: * LIST (\Noselect) "/" ~/Mail/foo
S: * LIST () "/" ~/Mail/meetings
S: A202 OK LIST completed
""",
    ),
    # We quote a mailbox pattern only when it needs it.
    TextExample(
        "3501",
        "6.3.9",
        r"""
C~ A002 LSUB "#news." "comp.mail.*"
S: * LSUB () "." #news.comp.mail.mime
S: * LSUB () "." #news.comp.mail.misc
S: A002 OK LSUB completed
C~ A003 LSUB "#news." "comp.%"
S: * LSUB (\NoSelect) "." #news.comp.mail
S: A003 OK LSUB completed
""",
    ),
    TextExample(
        "3501",
        "6.3.10",
        r"""
C: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)
S: A042 OK STATUS completed
""",
    ),
    TextExample(
        "3501",
        "6.3.11",
        r"""
C: A003 APPEND saved-messages (\Seen) {310}
S: + Ready for literal data
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@Blurdybloop.COM>
C: Subject: afternoon meeting
C: To: mooch@owatagu.siam.edu
C: Message-Id: <B27397-0100000@Blurdybloop.COM>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: A003 OK APPEND completed
""",
    ),
    TextExample(
        "3501",
        "6.4.1",
        r"""
C: FXXZ CHECK
S: FXXZ OK CHECK Completed
""",
    ),
    TextExample(
        "3501",
        "6.4.2",
        r"""
C: A341 CLOSE
S: A341 OK CLOSE completed
""",
    ),
    TextExample(
        "3501",
        "6.4.3",
        r"""
C: A202 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 5 EXPUNGE
S: * 8 EXPUNGE
S: A202 OK EXPUNGE completed
""",
    ),
    # The RFC's placeholder "XXXXXX" stands for 6 octets of UTF-8.
    TextExample(
        "3501",
        "6.4.4",
        r"""
C~ A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * SEARCH 2 84 882
S: A282 OK SEARCH completed
C: A283 SEARCH TEXT "string not in mailbox"
S: * SEARCH
S: A283 OK SEARCH completed
# (Our serialiser writes 6 ASCII octets as an atom, not a literal.)
C~ A284 SEARCH CHARSET UTF-8 TEXT {6}
C: XXXXXX
S: * SEARCH 43
S: A284 OK SEARCH completed
""",
    ),
    # The RFC elides the three FETCH responses ("* 2 FETCH ....").
    TextExample(
        "3501",
        "6.4.5",
        r"""
C: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
S: A654 OK FETCH completed
""",
    ),
    TextExample(
        "3501",
        "6.4.6",
        r"""
C: A003 STORE 2:4 +FLAGS (\Deleted)
S: * 2 FETCH (FLAGS (\Deleted \Seen))
S: * 3 FETCH (FLAGS (\Deleted))
S: * 4 FETCH (FLAGS (\Deleted \Flagged \Seen))
S: A003 OK STORE completed
""",
    ),
    TextExample(
        "3501",
        "6.4.7",
        r"""
C: A003 COPY 2:4 MEETING
S: A003 OK COPY completed
""",
    ),
    # A single fetch item is sent parenthesised by our serialiser, and FETCH
    # data is written in one fixed order (UID first).
    TextExample(
        "3501",
        "6.4.8",
        r"""
C~ A999 UID FETCH 4827313:4828442 FLAGS
S~ * 23 FETCH (FLAGS (\Seen) UID 4827313)
S~ * 24 FETCH (FLAGS (\Seen) UID 4827943)
S~ * 25 FETCH (FLAGS (\Seen) UID 4828442)
S: A999 OK UID FETCH completed
""",
    ),
    TextExample(
        "3501",
        "6.5.1",
        r"""
C: a441 CAPABILITY
S: * CAPABILITY IMAP4rev1 XPIG-LATIN
S: a441 OK CAPABILITY completed
C: A442 XPIG-LATIN
S: * XPIG-LATIN ow-nay eaking-spay ig-pay atin-lay
S: A442 OK XPIG-LATIN ompleted-cay
""",
    ),
    # ---- RFC 3501 §7 --------------------------------------------------------
    TextExample(
        "3501",
        "7.1.1",
        r"""
S: * OK IMAP4rev1 server ready
C: A001 LOGIN fred blurdybloop
S: * OK [ALERT] System shutdown in 10 minutes
S: A001 OK LOGIN Completed
""",
    ),
    TextExample(
        "3501",
        "7.1.2",
        r"""
C: A222 COPY 1:2 owatagusiam
S: * NO Disk is 98% full, please delete unnecessary data
S: A222 OK COPY completed
C: A223 COPY 3:200 blurdybloop
S: * NO Disk is 98% full, please delete unnecessary data
S: * NO Disk is 99% full, please delete unnecessary data
S: A223 NO COPY failed: disk is full
""",
    ),
    # "...very long command line..." and "...empty line..." are not wire data.
    TextExample(
        "3501",
        "7.1.3",
        r"""
S: * BAD Command line too long
S: * BAD Empty command line
C: A443 EXPUNGE
S: * BAD Disk crash, attempting salvage to a new disk!
S: * OK Salvage successful, no data lost
S: A443 OK Expunge completed
""",
    ),
    TextExample(
        "3501",
        "7.1.4",
        r"""
S: * PREAUTH IMAP4rev1 server logged in as Smith
""",
    ),
    TextExample(
        "3501",
        "7.1.5",
        r"""
S: * BYE Autologout; idle for too long
""",
    ),
    TextExample(
        "3501",
        "7.2.1",
        r"""
S: * CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI XPIG-LATIN
""",
    ),
    TextExample(
        "3501",
        "7.2.2",
        r"""
S: * LIST (\Noselect) "/" ~/Mail/foo
""",
    ),
    TextExample(
        "3501",
        "7.2.3",
        r"""
S: * LSUB () "." #news.comp.mail.misc
""",
    ),
    TextExample(
        "3501",
        "7.2.4",
        r"""
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)
""",
    ),
    TextExample(
        "3501",
        "7.2.5",
        r"""
S: * SEARCH 2 3 6
""",
    ),
    TextExample(
        "3501",
        "7.2.6",
        r"""
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
""",
    ),
    TextExample(
        "3501",
        "7.3.1",
        r"""
S: * 23 EXISTS
""",
    ),
    TextExample(
        "3501",
        "7.3.2",
        r"""
S: * 5 RECENT
""",
    ),
    TextExample(
        "3501",
        "7.4.1",
        r"""
S: * 44 EXPUNGE
""",
    ),
    # The two BODYSTRUCTURE examples of §7.4.2's prose, as FETCH data.
    TextExample(
        "3501",
        "7.4.2",
        r"""
S: * 23 FETCH (FLAGS (\Seen) RFC822.SIZE 44827)
S: * 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48))
S: * 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED"))
""",
    ),
    # "A044 BLURDYBLOOP {102856}" is refused before its literal is sent, so
    # it is no complete command; the server side of that exchange is kept.
    TextExample(
        "3501",
        "7.5",
        r"""
# We send short printable strings quoted, not as literals.
C~ A001 LOGIN {11}
S: + Ready for additional command text
C: FRED FOOBAR {7}
S: + Ready for additional command text
C: fat man
S: A001 OK LOGIN completed
S: A044 BAD No such command as "BLURDYBLOOP"
""",
    ),
    # ---- RFC 9051 §6 --------------------------------------------------------
    TextExample(
        "9051",
        "6.1.1",
        r"""
C: abcd CAPABILITY
S: * CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED
S: abcd OK CAPABILITY completed
C: efgh STARTTLS
S: efgh OK STARTTLS completed
C: ijkl CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=GSSAPI AUTH=PLAIN
S: ijkl OK CAPABILITY completed
""",
    ),
    TextExample(
        "9051",
        "6.1.2",
        r"""
C: a002 NOOP
S: a002 OK NOOP completed
C: a047 NOOP
S: * 22 EXPUNGE
S: * 23 EXISTS
S: * 14 FETCH (UID 1305 FLAGS (\Seen \Deleted))
S: a047 OK NOOP completed
""",
    ),
    TextExample(
        "9051",
        "6.1.3",
        r"""
C: A023 LOGOUT
S: * BYE IMAP4rev2 Server logging out
S: A023 OK LOGOUT completed
""",
    ),
    TextExample(
        "9051",
        "6.2.1",
        r"""
C: a001 CAPABILITY
S: * CAPABILITY IMAP4rev2 STARTTLS LOGINDISABLED
S: a001 OK CAPABILITY completed
C: a002 STARTTLS
S: a002 OK Begin TLS negotiation now
C: a003 CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=PLAIN
S: a003 OK CAPABILITY completed
C: a004 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: a004 OK Success (tls protection)
""",
    ),
    # Four examples; base64 lines joined (the RFC breaks them for print).
    TextExample(
        "9051",
        "6.2.2",
        r"""
S: * OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI] Capabilities
C: A001 AUTHENTICATE GSSAPI
S~ +
A: YIIB+wYJKoZIhvcSAQICAQBuggHqMIIB5qADAgEFoQMCAQ6iBwMFACAAAACjggEmYYIBIjCCAR6gAwIBBaESGxB1Lndhc2hpbmd0b24uZWR1oi0wK6ADAgEDoSQwIhsEaW1hcBsac2hpdmFtcy5jYWMud2FzaGluZ3Rvbi5lZHWjgdMwgdCgAwIBAaEDAgEDooHDBIHAcS1GSa5b+fXnPZNmXB9SjL8Ollj2SKyb+3S0iXMljen/jNkpJXAleKTz6BQPzj8duz8EtoOuNfKgweViyn/9B9bccy1uuAE2HI0yC/PHXNNU9ZrBziJ8Lm0tTNc98kUpjXnHZhsMcz5Mx2GR6dGknbI0iaGcRerMUsWOuBmKKKRmVMMdR9T3EZdpqsBd7jZCNMWotjhivd5zovQlFqQ2Wjc2+y46vKP/iXxWIuQJuDiisyXF0Y8+5GTpALpHDc1/pIGmMIGjoAMCAQGigZsEgZg2on5mSuxoDHEA1w9bcW9nFdFxDKpdrQhVGVRDIzcCMCTzvUboqb5KjY1NJKJsfjRQiBYBdENKfzK+g5DlV8nrw81uOcP8NOQCLR5XkoMHC0Dr/80ziQzbNqhxO6652Npft0LQwJvenwDI13YxpwOdMXzkWZN/XrEqOWp6GCgXTBvCyLWLlWnbaUkZdEYbKHBPjd8t/1x5Yg==
S: + YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRAtHTEuOP2BXb9sBYFR4SJlDZxmg39IxmRBOhXRKdDA0uHTCOT9Bq3OsUTXUlk0CsFLoa8j+gvGDlgHuqzWHPSQg==
A:
S: + YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=
A: YDMGCSqGSIb3EgECAgIBAAD/////3LQBHXTpFfZgrejpLlLImPwkhbfa2QteAQAgAG1yYwE=
S: A001 OK GSSAPI authentication successful
S: * OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED] Server ready
C: A01 STARTTLS
S: A01 OK STARTTLS completed
C: A02 CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=GSSAPI AUTH=PLAIN
S: A02 OK CAPABILITY completed
C: A03 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: A03 OK Success (tls protection)
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=PLAIN
S: C01 OK Completed
C: A01 AUTHENTICATE PLAIN
# (The RFC notes the space after "+" on this line.)
S: +{SP}
A: dGVzdAB0ZXN0AHRlc3Q=
S: A01 OK Success (tls protection)
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev2 AUTH=PLAIN AUTH=EXTERNAL
S: C01 OK Completed
C: A01 AUTHENTICATE EXTERNAL =
S: A01 OK Success (tls protection)
""",
    ),
    TextExample(
        "9051",
        "6.2.3",
        r"""
C: a001 LOGIN SMITH SESAME
S: a001 OK LOGIN completed
""",
    ),
    TextExample(
        "9051",
        "6.3.1",
        r"""
C: t1 CAPABILITY
S: * CAPABILITY IMAP4rev2 ID LITERAL+ X-GOOD-IDEA
S: t1 OK foo
C: t2 ENABLE CONDSTORE X-GOOD-IDEA
S: * ENABLED X-GOOD-IDEA
S: t2 OK foo
C: t3 CAPABILITY
S: * CAPABILITY IMAP4rev2 ID LITERAL+ X-GOOD-IDEA
S: t3 OK foo again
C: a1 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: a1 OK Conditional Store enabled
""",
    ),
    TextExample(
        "9051",
        "6.3.2",
        r"""
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * LIST () "/" INBOX
S: A142 OK [READ-WRITE] SELECT completed
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: A142 OK [READ-WRITE] SELECT completed
C: A143 SELECT Drafts
S: * OK [CLOSED] Previous mailbox is now closed
S: * 5 EXISTS
S: * OK [UIDVALIDITY 9877410381] UIDs valid
S: * OK [UIDNEXT 102] Predicted next UID
S: * LIST () "/" Drafts
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \Answered \Flagged \Draft \*)] System flags and keywords allowed
S: A143 OK [READ-WRITE] SELECT completed
""",
    ),
    TextExample(
        "9051",
        "6.3.3",
        r"""
C: A932 EXAMINE blurdybloop
S: * 17 EXISTS
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * LIST () "/" blurdybloop
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
S: A932 OK [READ-ONLY] EXAMINE completed
""",
    ),
    # We write an atom where the RFC quotes "Normalized".
    TextExample(
        "9051",
        "6.3.4",
        r"""
C: A003 CREATE owatagusiam/
S: A003 OK CREATE completed
C: A004 CREATE owatagusiam/blurdybloop
S: A004 OK CREATE completed
C: A005 CREATE NonNormalized
S~ * LIST () "/" "Normalized" ("OLDNAME" ("NonNormalized"))
S: A005 OK CREATE completed
""",
    ),
    TextExample(
        "9051",
        "6.3.5",
        r"""
C: A682 LIST "" *
S: * LIST () "/" blurdybloop
S: * LIST (\Noselect) "/" foo
S: * LIST () "/" foo/bar
S: A682 OK LIST completed
C: A683 DELETE blurdybloop
S: A683 OK DELETE completed
C: A684 DELETE foo
S: A684 NO Name "foo" has inferior hierarchical names
C: A685 DELETE foo/bar
S: A685 OK DELETE Completed
C: A686 LIST "" *
S: * LIST (\Noselect) "/" foo
S: A686 OK LIST completed
C: A687 DELETE foo
S: A687 OK DELETE Completed
C: A82 LIST "" *
S: * LIST () "." blurdybloop
S: * LIST () "." foo
S: * LIST () "." foo.bar
S: A82 OK LIST completed
C: A83 DELETE blurdybloop
S: A83 OK DELETE completed
C: A84 DELETE foo
S: A84 OK DELETE Completed
C: A85 LIST "" *
S: * LIST () "." foo.bar
S: A85 OK LIST completed
C: A86 LIST "" %
S: * LIST (\Noselect) "." foo
S: A86 OK LIST completed
""",
    ),
    TextExample(
        "9051",
        "6.3.6",
        r"""
C: A682 LIST "" *
S: * LIST () "/" blurdybloop
S: * LIST (\Noselect) "/" foo
S: * LIST () "/" foo/bar
S: A682 OK LIST completed
C: A683 RENAME blurdybloop sarasoop
S: A683 OK RENAME completed
C: A684 RENAME foo zowie
S: A684 OK RENAME Completed
C: A685 LIST "" *
S: * LIST () "/" sarasoop
S: * LIST (\Noselect) "/" zowie
S: * LIST () "/" zowie/bar
S: A685 OK LIST completed
C: Z432 LIST "" *
S: * LIST () "." INBOX
S: * LIST () "." INBOX.bar
S: Z432 OK LIST completed
C: Z433 RENAME INBOX old-mail
S: Z433 OK RENAME completed
C: Z434 LIST "" *
S: * LIST () "." INBOX
S: * LIST () "." INBOX.bar
S: * LIST () "." old-mail
S: Z434 OK LIST completed
C: 1001 RENAME X Y
C: 1002 SUBSCRIBE Y
C: 1003 UNSUBSCRIBE X
""",
    ),
    TextExample(
        "9051",
        "6.3.7",
        r"""
C: A002 SUBSCRIBE #news.comp.mail.mime
S: A002 OK SUBSCRIBE completed
""",
    ),
    TextExample(
        "9051",
        "6.3.8",
        r"""
C: A002 UNSUBSCRIBE #news.comp.mail.mime
S: A002 OK UNSUBSCRIBE completed
""",
    ),
    TextExample(
        "9051",
        "6.3.9.7",
        r"""
S~ * LIST (\NonExistent) "." "INBOX.DeletedMailbox"
S~ * LIST () "/" "NewMailbox" ("OLDNAME" ("OldMailbox"))
""",
    ),
    # §6.3.9.8: the basic example and extended examples 1-11.  Our
    # serialiser writes a mailbox name as an atom when it can, so every
    # quoted name in these responses (and quoted patterns in commands) is
    # respelled (the "~" lines).
    TextExample(
        "9051",
        "6.3.9.8",
        r"""
C: A101 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: A101 OK LIST Completed
C: A102 LIST #news.comp.mail.misc ""
S: * LIST (\Noselect) "." #news.
S: A102 OK LIST Completed
C: A103 LIST /usr/staff/jones ""
S: * LIST (\Noselect) "/" /
S: A103 OK LIST Completed
C: A202 LIST ~/Mail/ %
S: * LIST (\Noselect) "/" ~/Mail/foo
S: * LIST () "/" ~/Mail/meetings
S: A202 OK LIST completed
# 1
C~ A01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "Fruit"
S~ * LIST () "/" "Fruit/Apple"
S~ * LIST () "/" "Fruit/Banana"
S~ * LIST () "/" "Tofu"
S~ * LIST () "/" "Vegetable"
S~ * LIST () "/" "Vegetable/Broccoli"
S~ * LIST () "/" "Vegetable/Corn"
S: A01 OK done
# 2
C~ A02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST (\Subscribed \NonExistent) "/" "Fruit/Peach"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S: A02 OK done
# 3
C~ A03 LIST () "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Fruit"
S~ * LIST (\HasNoChildren) "/" "Tofu"
S~ * LIST (\HasChildren) "/" "Vegetable"
S: A03 OK done
# 4
C~ A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Fruit"
S~ * LIST (\HasNoChildren) "/" "Tofu"
S~ * LIST (\HasChildren) "/" "Vegetable"
S~ * LIST (\Remote \HasNoChildren) "/" "Bread"
S~ * LIST (\HasChildren \Remote) "/" "Meat"
S: A04 OK done
# 5
C~ A05 LIST (REMOTE SUBSCRIBED) "" "*"
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST (\Subscribed \NonExistent) "/" "Fruit/Peach"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S~ * LIST (\Remote \Subscribed) "/" "Bread"
S: A05 OK done
# 6
C~ A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST () "/" "Fruit"
S~ * LIST () "/" "Fruit/Apple"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST () "/" "Tofu"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S~ * LIST () "/" "Vegetable/Corn"
S~ * LIST (\Remote \Subscribed) "/" "Bread"
S~ * LIST (\Remote) "/" "Meat"
S: A06 OK done
# 7
C~ C01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "Foo"
S~ * LIST () "/" "Foo/Bar"
S~ * LIST () "/" "Foo/Baz"
S~ * LIST () "/" "Moo"
S: C01 OK done
C~ CA3 LIST "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Foo"
S~ * LIST (\HasNoChildren) "/" "Moo"
S: CA3 OK done
C~ C02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Subscribed) "/" "Foo/Baz"
S: C02 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\Subscribed \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\NonExistent) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)
S~ * LIST (\HasChildren \Subscribed) "/" "Foo"
S~ * LIST (\HasNoChildren \Subscribed) "/" "Moo"
S: C04 OK done
# 8
C~ D01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "foo2"
S~ * LIST () "/" "foo2/bar1"
S~ * LIST () "/" "foo2/bar2"
S~ * LIST () "/" "baz2"
S~ * LIST () "/" "baz2/bar2"
S~ * LIST () "/" "baz2/bar22"
S~ * LIST () "/" "baz2/bar222"
S~ * LIST () "/" "eps2"
S~ * LIST () "/" "eps2/mamba"
S~ * LIST () "/" "qux2/bar2"
S: D01 OK done
C~ D02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Subscribed) "/" "foo2/bar1"
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2"
S~ * LIST (\Subscribed) "/" "eps2/mamba"
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D02 OK done
C~ D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"
S~ * LIST () "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D03 OK done
S~ * LIST () "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\NonExistent) "/" "qux2" ("CHILDINFO" ("SUBSCRIBED"))
C~ D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"
S~ * LIST () "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "foo2/bar1"
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST () "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "eps2/mamba"
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D03 OK done
# 9
C~ a1 LIST "" ("foo")
S: * LIST () "/" foo
S: a1 OK done
C~ a2 LIST (SUBSCRIBED) "" "foo/*"
S: * LIST (\Subscribed \NonExistent) "/" foo/bar
S: a2 OK done
C: a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)
S: * LIST (\HasNoChildren) "/" foo ("CHILDINFO" ("SUBSCRIBED"))
S: a3 OK done
# 10
C: a1 LIST (REMOTE) "" *
S: * LIST () "/" music/rock
S: * LIST (\Remote) "/" also/jazz
S: a1 OK done
C: a2 LIST () "" %
S: * LIST (\NonExistent \HasChildren) "/" music
S: a2 OK done
C: a3 LIST (REMOTE) "" %
S: * LIST (\NonExistent \HasChildren) "/" music
S: * LIST (\NonExistent \HasChildren) "/" also
S: a3 OK done
C: a3.1 LIST "" (% music/rock)
S: * LIST () "/" music/rock
S: a3.1 OK done
# 11
C: A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
S~ * LIST () "." "INBOX"
S~ * STATUS "INBOX" (MESSAGES 17 UNSEEN 16)
S~ * LIST () "." "foo"
S~ * STATUS "foo" (MESSAGES 30 UNSEEN 29)
S~ * LIST (\NoSelect) "." "bar"
S: A01 OK List completed.
C: A02 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (STATUS (MESSAGES))
# RFC text: `* LIST (\Subscribed) "."  "INBOX"` has two spaces between the
# delimiter and the name, which RFC 9051 §9 (one SP) does not allow; the
# corrected line is tested.
S~ * LIST (\Subscribed) "." "INBOX"
S~ * STATUS "INBOX" (MESSAGES 17)
S~ * LIST () "." "foo" (CHILDINFO ("SUBSCRIBED"))
S: A02 OK List completed.
""",
    ),
    # Example 5's "NIL  NIL" has two spaces (RFC 9051 §9 wants one SP); the
    # corrected line is tested.
    TextExample(
        "9051",
        "6.3.10",
        r"""
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE NIL NIL (("" "."))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) NIL (("Public Folders/" "/"))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")("#ftp/" "/")("#news." "."))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("INBOX." ".")) NIL NIL
S: A001 OK NAMESPACE command completed
C: A002 CREATE "INBOX.Sent Mail"
S: A002 OK CREATE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL
S: A001 OK NAMESPACE command completed
C~ A002 LIST (SPECIAL-USE) "" "*"
S: * LIST (\NonExistent \Archive) "/" Archives
S: * LIST (\NonExistent \Drafts) "/" Drafts
S: * LIST (\NonExistent \Junk) "/" Junk
S: * LIST (\NonExistent \Sent) "/" "Sent Mail"
S: * LIST (\NonExistent \Trash) "/" "Deleted Items"
S: A002 OK LIST Completed
""",
    ),
    TextExample(
        "9051",
        "6.3.10",
        r"""
C~ A003 LIST (SPECIAL-USE) "#mh/" "*"
S~ * LIST (\NonExistent \Archive) "/" "#mh/Archives"
S~ * LIST (\NonExistent \Drafts) "/" "#mh/Drafts"
S~ * LIST (\NonExistent \Junk) "/" "#mh/Junk"
S: * LIST (\NonExistent \Sent) "/" "#mh/Sent Mail"
S: * LIST (\NonExistent \Trash) "/" "#mh/Deleted Items"
S: A003 OK LIST Completed
C: A004 CREATE "Sent Mail"
S: A004 OK CREATE command completed
C: A005 CREATE "Delete Items"
S: A005 OK CREATE command completed
C: A006 CREATE "#mh/Deleted Items"
S: A006 OK CREATE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("Other Users/" "/")) NIL
S: A001 OK NAMESPACE command completed
C: A002 LIST "" "Other Users/%"
S: * LIST () "/" "Other Users/Mike"
S: * LIST () "/" "Other Users/Karen"
S: * LIST () "/" "Other Users/Matthew"
S: * LIST () "/" "Other Users/Tesa"
S: A002 OK LIST command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("#Users/" "/")) NIL
S: A001 OK NAMESPACE command completed
C~ A002 LIST "" "#Users/%"
S: A002 NO The requested item could not be found.
C~ A003 LIST "" "#Users/Mike/%"
S~ * LIST () "/" "#Users/Mike/INBOX"
S~ * LIST () "/" "#Users/Mike/Foo"
S: A003 OK LIST command completed.
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("~" "/")) NIL
S: A001 OK NAMESPACE command completed
C~ A002 LIST "" "~mark/%"
S~ * LIST () "/" "~mark/INBOX"
S~ * LIST () "/" "~mark/foo"
S: A002 OK LIST command completed
""",
    ),
    TextExample(
        "9051",
        "6.3.11",
        r"""
C: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)
S: A042 OK STATUS completed
""",
    ),
    # The second APPEND uses a LITERAL+ literal: no "+" from the server.
    TextExample(
        "9051",
        "6.3.12",
        r"""
C: A003 APPEND saved-messages (\Seen) {326}
S: + Ready for literal data
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@Blurdybloop.example>
C: Subject: afternoon meeting
C: To: mooch@owatagu.siam.edu.example
C: Message-Id: <B27397-0100000@Blurdybloop.example>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: A003 OK APPEND completed
# (We write a synchronising {297}; the non-synchronising form is chosen by
# the connection when the server advertises LITERAL+.)
C~ A003 APPEND saved-messages (\Seen) {297+}
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@example.com>
C: Subject: afternoon meeting
C: To: mooch@example.com
C: Message-Id: <B27397-0100000@example.com>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: A003 OK [APPENDUID 38505 3955] APPEND completed
C: A004 COPY 2:4 meeting
S: A004 OK [COPYUID 38505 304,319:320 3956:3958] Done
C: A005 UID COPY 305:310 meeting
S: A005 OK No matching messages, so nothing copied
C: A006 COPY 2 funny
S: A006 OK Done
C: A007 SELECT funny
S: * 1 EXISTS
S: * OK [UIDVALIDITY 3857529045] Validity session-only
S: * OK [UIDNEXT 2] Predicted next UID
S: * NO [UIDNOTSTICKY] Non-persistent UIDs
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen)] Limited
S: * LIST () "." funny
S: A007 OK [READ-WRITE] SELECT completed
""",
    ),
    # "* 4 FETCH (...)" and "* 3 FETCH (...)" are elided in the RFC.
    TextExample(
        "9051",
        "6.3.13",
        r"""
C: A001 SELECT INBOX
S: * FLAGS (\Deleted \Seen \Flagged)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \Flagged)] Limited
S: * 3 EXISTS
S: * OK [UIDVALIDITY 1]
S: * OK [UIDNEXT 1]
S: * LIST () "/" INBOX
S: A001 OK [READ-WRITE] SELECT completed
C: A002 IDLE
S: + idling
S: * 4 EXISTS
C: DONE
S: A002 OK IDLE terminated
C: A003 FETCH 4 ALL
S: A003 OK FETCH completed
C: A004 IDLE
S: * 2 EXPUNGE
S: * 3 EXISTS
S: + idling
S: * 3 EXPUNGE
S: * 2 EXISTS
S: * 3 EXISTS
C: DONE
S: A004 OK IDLE terminated
C: A005 FETCH 3 ALL
S: A005 OK FETCH completed
C: A006 IDLE
""",
    ),
    TextExample(
        "9051",
        "6.4.1",
        r"""
C: A341 CLOSE
S: A341 OK CLOSE completed
""",
    ),
    TextExample(
        "9051",
        "6.4.2",
        r"""
C: A342 UNSELECT
S: A342 OK Unselect completed
""",
    ),
    TextExample(
        "9051",
        "6.4.3",
        r"""
C: A202 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 5 EXPUNGE
S: * 8 EXPUNGE
S: A202 OK EXPUNGE completed
""",
    ),
    # Wrapped command lines joined with one space.  We write "Smith" as an
    # atom, and short UTF-8 strings as quoted strings in UTF-8 mode only, so
    # the literal stays a literal here.
    TextExample(
        "9051",
        "6.4.4",
        r"""
C~ A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A282") MIN 2 COUNT 3
S: A282 OK SEARCH completed
C~ A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: * ESEARCH (TAG "A283") ALL 2,10:11
S: A283 OK SEARCH completed
C: A284 SEARCH TEXT "string not in mailbox"
S: * ESEARCH (TAG "A284")
S: A284 OK SEARCH completed
C: A285 SEARCH CHARSET UTF-8 TEXT {12}
S: + Ready for literal text
C: отпуск
S: * ESEARCH (TAG "A285") ALL 43
S: A285 OK SEARCH completed
C: A284 SEARCH RETURN (MIN) UNSEEN
S: * ESEARCH (TAG "A284") MIN 4
S: A284 OK SEARCH completed
C: A285 UID SEARCH RETURN (MIN MAX) 1:5000
S: * ESEARCH (TAG "A285") UID MIN 7 MAX 3800
S: A285 OK SEARCH completed
C: A286 SEARCH RETURN (COUNT) DELETED
S: * ESEARCH (TAG "A286") COUNT 15
S: A286 OK SEARCH completed
""",
    ),
    # Examples 1-10.  The RFC's "// ..." comments and the elided FETCH
    # responses ("* 2 FETCH (UID 14 ...") are left out.  "XXXX" stands for
    # 4 octets of KOI8-R.  Example 10's first ESEARCH says TAG "C283" for
    # command C282 (a slip in the RFC text; it still parses).
    TextExample(
        "9051",
        "6.4.4.4",
        r"""
C~ A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
S: A282 OK SEARCH completed, result saved
C: A283 FETCH $ (UID INTERNALDATE FLAGS BODY.PEEK[HEADER])
S: A283 OK completed
C~ A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
C: A283 FETCH $ (UID INTERNALDATE FLAGS BODY.PEEK[HEADER])
S: A282 OK SEARCH completed
S: A283 OK completed
C~ A300 SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM "Smith"
S: A300 OK SEARCH completed
C: A301 UID SEARCH UID $ SMALLER 4096
# (Sequence sets are written normalised: 900,901 becomes 900:901.)
S~ * ESEARCH (TAG "A301") UID ALL 17,900,901
S: A301 OK completed
C: A301 UID SEARCH $ SMALLER 4096
C~ P282 SEARCH RETURN (SAVE) SINCE 1-Feb-1994 NOT FROM "Smith"
S: P282 OK SEARCH completed
C~ P283 SEARCH CHARSET UTF-8 (OR $ 1,3000:3021) TEXT {8+}
C: мать
S: * ESEARCH (TAG "P283") ALL 882,1102,3003,3005:3006
S: P283 OK completed
C~ B282 SEARCH RETURN (SAVE) SINCE 1-Feb-1994 NOT FROM "Smith"
S: B282 OK SEARCH completed
C~ B283 SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {4}
C: XXXX
# As printed, "[BADCHARSET UTF-8]" lacks the parentheses RFC 9051 §9 gives
# BADCHARSET; the codec keeps that argument as text.  Both forms are tested:
S: B283 NO [BADCHARSET UTF-8] KOI8-R is not supported
S: B283 NO [BADCHARSET (UTF-8)] KOI8-R is not supported
C~ E282 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT FROM "Eric"
C: E283 COPY $ "Other Messages"
S: E282 OK SEARCH completed
S: E283 OK COPY completed, nothing copied
C: F282 SEARCH RETURN (SAVE) KEYWORD $Junk
C~ F283 COPY $ "Junk"
C~ F284 STORE $ +FLAGS.Silent (\Deleted)
S: F282 OK SEARCH completed
S: F283 OK COPY completed
S: F284 OK STORE completed
C: G282 SEARCH RETURN (SAVE) KEYWORD $Junk
C~ G283 SEARCH RETURN (ALL) SINCE 28-Oct-2006 FROM "Eric"
S: * ESEARCH (TAG "G283") ALL 3:15,27,29:103
S: G283 OK SEARCH completed
S: G282 OK SEARCH completed
C: H282 SEARCH RETURN (SAVE) KEYWORD $Junk
C~ H283 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 FROM "Eric"
S: H282 OK SEARCH completed
S: H283 OK SEARCH completed
C~ C282 SEARCH RETURN (ALL) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C283") ALL 2,10:15,21
S: C282 OK SEARCH completed
C~ C283 SEARCH RETURN (ALL SAVE) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C283") ALL 2,10:15,21
S: C283 OK SEARCH completed
C~ C284 SEARCH RETURN (SAVE MIN) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C284") MIN 2
S: C284 OK SEARCH completed
C~ C285 SEARCH RETURN (MAX SAVE MIN) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C285") MIN 2 MAX 21
S: C285 OK SEARCH completed
C~ C286 SEARCH RETURN (MAX SAVE MIN COUNT) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C286") MIN 2 MAX 21 COUNT 8
S: C286 OK SEARCH completed
C~ C286 SEARCH RETURN (ALL SAVE MIN) SINCE 12-Feb-2006 NOT FROM "Smith"
S: * ESEARCH (TAG "C286") MIN 2 ALL 2,10:15,21
S: C286 OK SEARCH completed
""",
    ),
    # The three FETCH responses are elided in the RFC ("* 2 FETCH ....").
    TextExample(
        "9051",
        "6.4.5",
        r"""
C: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
S: A654 OK FETCH completed
""",
    ),
    TextExample(
        "9051",
        "6.4.6",
        r"""
C: A003 STORE 2:4 +FLAGS (\Deleted)
S: * 2 FETCH (FLAGS (\Deleted \Seen))
S: * 3 FETCH (FLAGS (\Deleted))
S: * 4 FETCH (FLAGS (\Deleted \Flagged \Seen))
S: A003 OK STORE completed
""",
    ),
    TextExample(
        "9051",
        "6.4.7",
        r"""
C: A003 COPY 2:4 MEETING
S: A003 OK [COPYUID 38505 304,319:320 3956:3958] COPY completed
""",
    ),
    # "...More EXPUNGE responses from the server..." left out.
    TextExample(
        "9051",
        "6.4.8",
        r"""
C: a UID MOVE 42:69 foo
S: * OK [COPYUID 432432 42:69 1202:1229]
S: * 22 EXPUNGE
S: a OK Done
""",
    ),
    TextExample(
        "9051",
        "6.4.9",
        r"""
C: A003 UID EXPUNGE 3000:3002
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: A003 OK UID EXPUNGE completed
C~ A999 UID FETCH 4827313:4828442 FLAGS
S~ * 23 FETCH (FLAGS (\Seen) UID 4827313)
S~ * 24 FETCH (FLAGS (\Seen) UID 4827943)
S~ * 25 FETCH (FLAGS (\Seen) UID 4828442)
S: A999 OK UID FETCH completed
""",
    ),
    TextExample(
        "9051",
        "6.5",
        r"""
C: a441 CAPABILITY
S: * CAPABILITY IMAP4rev2 XPIG-LATIN
S: a441 OK CAPABILITY completed
C: A442 XPIG-LATIN
S: * XPIG-LATIN ow-nay eaking-spay ig-pay atin-lay
S: A442 OK XPIG-LATIN ompleted-cay
""",
    ),
    # ---- RFC 9051 §7 --------------------------------------------------------
    # The response-code examples of §7.1.  Commands ending in "[...]" in the
    # RFC are complete before the elision; "c1/c2 AUTHENTICATE PLAIN [...]"
    # elide the argument, so only their responses are kept.  "m STORE 42
    # FLAGS f1 ... f250": the RFC's "..." is itself a valid keyword atom, so
    # the line is tested as printed.  The HASCHILDREN example answers
    # "m356 DELETE Notes" with tag o356 (a slip in the RFC text).
    # Lower-case command names and quoted atoms are respelled by us.
    TextExample(
        "9051",
        "7.1",
        r"""
C: o356 RENAME this that
S: o356 NO [ALREADYEXISTS] Mailbox "that" already exists
C~ b LOGIN "fred" "foo"
S: b NO [AUTHENTICATIONFAILED] Authentication failed
S: c1 NO [AUTHORIZATIONFAILED] No such authorization-ID
S: c2 NO [AUTHORIZATIONFAILED] Authenticator is not an admin
C~ l create "///////"
S: l NO [CANNOT] Adjacent slashes are not supported
C~ k1 select "/archive/projects/experiment-iv"
S: k1 OK [READ-ONLY] Done
C~ k2 status "/archive/projects/experiment-iv" (messages)
S: k2 OK [CLIENTBUG] Done
C~ e login "fred" "foo"
S: e NO [CONTACTADMIN]
C~ i select "/archive/projects/experiment-iv"
S: i NO [CORRUPTION] Cannot open mailbox
C~ d login "fred" "foo"
S: d NO [EXPIRED] That password isn't valid any more
C~ h search from maria@example.com
S: * ESEARCH (TAG "h") ALL 1:3,5,8,13,21,42
S: h OK [EXPUNGEISSUED] Search completed
C: m356 DELETE Notes
S: o356 NO [HASCHILDREN] Mailbox "Notes" has children that need to be deleted first
C~ g delete "/archive/projects/experiment-iv"
S: g NO [INUSE] Mailbox in use
C~ m STORE 42 FLAGS f1 f2 f3 f4 f5 ... f250
S: m NO [LIMIT] At most 32 flags in one mailbox supported
C: p RENAME this that
S: p NO [NONEXISTENT] No such mailbox
C~ f select "/archive/projects/experiment-iv"
S: f NO [NOPERM] Access denied
C~ n1 uid copy 1:* oldmail
S: n1 NO [OVERQUOTA] Sorry
C~ n2 uid copy 1:* oldmail
S: n2 OK [OVERQUOTA] You are now over your soft quota
C~ d login "fred" "foo"
S: d NO [PRIVACYREQUIRED] Connection offers no privacy
C~ d select inbox
S: d NO [PRIVACYREQUIRED] Connection offers no privacy
C~ j select "/archive/projects/experiment-iv"
S: j NO [SERVERBUG] This should not happen
C~ a LOGIN "fred" "foo"
S: a NO [UNAVAILABLE] User's backend down for maintenance
""",
    ),
    TextExample(
        "9051",
        "7.1.1",
        r"""
S: * OK IMAP4rev2 server ready
C: A001 LOGIN fred blurdybloop
S: * OK [ALERT] System shutdown in 10 minutes
S: A001 OK LOGIN Completed
""",
    ),
    TextExample(
        "9051",
        "7.1.2",
        r"""
C: A222 COPY 1:2 owatagusiam
S: * NO Disk is 98% full, please delete unnecessary data
S: A222 OK COPY completed
C: A223 COPY 3:200 blurdybloop
S: * NO Disk is 98% full, please delete unnecessary data
S: * NO Disk is 99% full, please delete unnecessary data
S: A223 NO COPY failed: disk is full
""",
    ),
    TextExample(
        "9051",
        "7.1.3",
        r"""
S: * BAD Command line too long
S: * BAD Empty command line
C: A443 EXPUNGE
S: * BAD Disk crash, attempting salvage to a new disk!
S: * OK Salvage successful, no data lost
S: A443 OK Expunge completed
""",
    ),
    TextExample(
        "9051",
        "7.1.4",
        r"""
S: * PREAUTH IMAP4rev2 server logged in as Smith
""",
    ),
    TextExample(
        "9051",
        "7.1.5",
        r"""
S: * BYE Autologout; idle for too long
""",
    ),
    TextExample(
        "9051",
        "7.2.1",
        r"""
S: * ENABLED CONDSTORE QRESYNC
""",
    ),
    TextExample(
        "9051",
        "7.2.2",
        r"""
S: * CAPABILITY STARTTLS AUTH=GSSAPI IMAP4rev2 LOGINDISABLED XPIG-LATIN
""",
    ),
    TextExample(
        "9051",
        "7.3.1",
        r"""
S: * LIST (\Noselect) "/" ~/Mail/foo
# (Extended-data tags are written quoted.)
S~ * LIST (\Marked) ":" Tables (tablecloth (("edge" "lacy") ("color" "red")) Sample "text")
S~ * LIST () ":" Tables:new (tablecloth ("edge" "lacy") Sample ("text" "more text"))
""",
    ),
    TextExample(
        "9051",
        "7.3.2",
        r"""
S: * NAMESPACE (("" "/")) (("~" "/")) NIL
""",
    ),
    TextExample(
        "9051",
        "7.3.3",
        r"""
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)
""",
    ),
    TextExample(
        "9051",
        "7.3.4",
        r"""
S: * ESEARCH UID COUNT 17 ALL 4:18,21,28
S: * ESEARCH (TAG "a567") UID COUNT 17 ALL 4:18,21,28
S: * ESEARCH COUNT 18 ALL 1:17,21
""",
    ),
    TextExample(
        "9051",
        "7.3.5",
        r"""
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
""",
    ),
    TextExample(
        "9051",
        "7.4.1",
        r"""
S: * 23 EXISTS
""",
    ),
    TextExample(
        "9051",
        "7.5.1",
        r"""
S: * 44 EXPUNGE
""",
    ),
    # The two BODYSTRUCTURE examples of the prose, as FETCH data; UID is
    # written first by our serialiser.
    TextExample(
        "9051",
        "7.5.2",
        r"""
S~ * 23 FETCH (FLAGS (\Seen) RFC822.SIZE 44827 UID 447)
S: * 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48))
S: * 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED"))
""",
    ),
    TextExample(
        "9051",
        "7.6",
        r"""
C~ A001 LOGIN {11}
S: + Ready for additional command text
C: FRED FOOBAR {7}
S: + Ready for additional command text
C: fat man
S: A001 OK LOGIN completed
S: A044 BAD No such command as "BLURDYBLOOP"
""",
    ),
    # ---- RFC 7162 (CONDSTORE, QRESYNC) --------------------------------------
    # Lines the RFC elides ("...", "S: ...", "[...]") are left out; wrapped
    # lines are joined with one space.  Our respellings ("~"): sequence sets
    # written ascending and merged (6,4,8 -> 4,6,8); FETCH items in one fixed
    # order (MODSEQ before FLAGS); a lone flag parenthesised; and "a107 OK"
    # with no text written "a107 OK " -- RFC 9051 §9 resp-cond-state has
    # "OK" SP resp-text, so the space is required and the RFC lines omit it.
    # Example 20's "ALL 5,3,2,1" is SORT order; normalising it loses that
    # order (reported to the codec owner; harmless for SEARCH).
    TextExample(
        "7162",
        "3.1.2.1",
        r"""
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * OK [HIGHESTMODSEQ 715194045007]
S: A142 OK [READ-WRITE] SELECT completed
""",
    ),
    TextExample(
        "7162",
        "3.1.2.2",
        r"""
C: A142 SELECT INBOX
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences
S: A142 OK [READ-WRITE] SELECT completed
""",
    ),
    # Examples 3-11.
    TextExample(
        "7162",
        "3.1.3",
        r"""
C~ a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted)
S: * 1 FETCH (UID 4 MODSEQ (12121231000))
S: * 2 FETCH (UID 6 MODSEQ (12121230852))
S: * 4 FETCH (UID 8 MODSEQ (12121230956))
S: a103 OK Conditional Store completed
C: a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted $Processed)
S: * 50 FETCH (MODSEQ (12111230047))
S: a104 OK Store (conditional) completed
C: c101 STORE 50 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\Deleted)
S: * OK [HIGHESTMODSEQ 12111230047]
S: * 50 FETCH (MODSEQ (12111230048))
S: c101 OK Store (conditional) completed
C~ d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
S: * 5 FETCH (MODSEQ (320162350))
S: d105 OK [MODIFIED 7,9] Conditional STORE failed
C~ d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
S~ * 7 FETCH (MODSEQ (320162342) FLAGS (\Seen \Deleted))
S: * 5 FETCH (MODSEQ (320162350))
S~ * 9 FETCH (MODSEQ (320162349) FLAGS (\Answered))
S: d105 OK [MODIFIED 7,9] Conditional STORE failed
C: a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)
S: a102 OK [MODIFIED 12] Conditional STORE failed
C: a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ (303181230852))
S: * 102 FETCH (MODSEQ (303181230852))
S: * 150 FETCH (MODSEQ (303181230852))
S: a106 OK [MODIFIED 101] Conditional STORE failed
C: a107 NOOP
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS ($Processed))
S~ a107 OK
C: b107 NOOP
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS (\Deleted \Answered))
S~ b107 OK
C: b108 STORE 101 (UNCHANGEDSINCE 303011130956) +FLAGS.SILENT ($Processed)
S: * 101 FETCH (MODSEQ (303181230852))
S: b108 OK Conditional Store completed
C: a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ (303181230852))
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS ($Processed))
S: * 102 FETCH (MODSEQ (303181230852))
S: * 150 FETCH (MODSEQ (303181230852))
S: a106 OK [MODIFIED 101] Conditional STORE failed
C: a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ (303181230852))
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS (\Deleted \Answered))
S: * 102 FETCH (MODSEQ (303181230852))
S: * 150 FETCH (MODSEQ (303181230852))
S: a106 OK [MODIFIED 101] Conditional STORE failed
C: b108 STORE 101 (UNCHANGEDSINCE 303011130956) +FLAGS.SILENT ($Processed)
S: * 101 FETCH (MODSEQ (303181230852))
S: b108 OK Conditional Store completed
C: a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)
S: * 100 FETCH (MODSEQ (303181230852))
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS ($Processed \Deleted \Answered))
S: * 102 FETCH (MODSEQ (303181230852))
S: * 150 FETCH (MODSEQ (303181230852))
S: a106 OK Conditional STORE completed
C: B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\SEEN)
S~ * 1 FETCH (MODSEQ (320172342) FLAGS (\SEEN))
S~ * 3 FETCH (MODSEQ (320172342) FLAGS (\SEEN))
S: B001 NO [MODIFIED 2] Some of the messages no longer exist.
C: B002 NOOP
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S: * 4 EXPUNGE
S~ * 2 FETCH (MODSEQ (320172340) FLAGS (\Deleted \Answered))
S: B002 OK NOOP Completed.
C: b003 STORE 2 (UNCHANGEDSINCE 320172340) +FLAGS (\Seen)
S~ * 2 FETCH (MODSEQ (320180050) FLAGS (\SEEN \Flagged))
S: b003 OK Conditional Store completed
C~ e105 STORE 7,3:9 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted)
""",
    ),
    TextExample(
        "7162",
        "3.1.4.1",
        r"""
C: s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
S~ * 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\Seen))
S~ * 2 FETCH (UID 6 MODSEQ (75403) FLAGS (\Deleted))
S~ * 4 FETCH (UID 8 MODSEQ (29738) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
""",
    ),
    # Examples 13 and 14 (three sessions in the RFC, one stream here).
    TextExample(
        "7162",
        "3.1.4.2",
        r"""
C: a FETCH 1:3 (MODSEQ)
S: * 1 FETCH (MODSEQ (624140003))
S: * 2 FETCH (MODSEQ (624140007))
S: * 3 FETCH (MODSEQ (624140005))
S: a OK Fetch complete
C: A142 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Deleted \Seen \*)] Limited
C: A160 STORE 7 +FLAGS.SILENT (\Deleted)
S: * 7 FETCH (MODSEQ (2121231000))
S: A160 OK Store completed
C: C180 NOOP
S: * 7 FETCH (FLAGS (\Deleted \Answered) MODSEQ (12121231000))
S: C180 OK Noop completed
C: D210 NOOP
S: * 7 FETCH (FLAGS (\Deleted \Answered) MODSEQ (12121231000))
S: D210 OK Noop completed
C: A240 STORE 7 +FLAGS.SILENT (\Seen)
S: * 7 FETCH (MODSEQ (12121231777))
S: A240 OK Store completed
C: C270 NOOP
S: * 7 FETCH (FLAGS (\Deleted \Answered \Seen) MODSEQ (12121231777))
S: C270 OK Noop completed
C: D300 NOOP
S: D300 OK Noop completed
C: A330 STORE 7 -FLAGS.SILENT (\Answered \Seen)
S: * 7 FETCH (MODSEQ (12121245160))
S: A330 OK Store completed
C: C360 NOOP
S: * 7 FETCH (FLAGS (\Deleted) MODSEQ (12121245160))
S: C360 OK Noop completed
C: D390 NOOP
S: * 7 FETCH (FLAGS (\Deleted) MODSEQ (12121245160))
S: D390 OK Noop completed
""",
    ),
    TextExample(
        "7162",
        "3.1.5",
        r"""
C: a SEARCH MODSEQ "/flags/\\draft" all 620162338
S: * SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)
S: a OK Search complete
C: t SEARCH OR NOT MODSEQ 720162338 LARGER 50000
S: * SEARCH
S: t OK Search complete, nothing found
""",
    ),
    TextExample(
        "7162",
        "3.1.7",
        r"""
C: A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)
S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)
S: A042 OK STATUS completed
""",
    ),
    TextExample(
        "7162",
        "3.1.8",
        r"""
C: A142 SELECT INBOX (CONDSTORE)
S: * 172 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: * OK [UIDNEXT 4392] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * OK [HIGHESTMODSEQ 715194045007]
S: A142 OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled
""",
    ),
    # Example 20's "a SORT RETURN (ALL) (DATE) UTF-8 MODSEQ 1234" is not
    # tested: SORT (RFC 5256/5267) is outside the codec's command set.
    TextExample(
        "7162",
        "3.1.10",
        r"""
C: a SEARCH RETURN (ALL) MODSEQ 1234
S: * ESEARCH (TAG "a") ALL 1:3,5 MODSEQ 1236
S: a OK Extended SEARCH completed
S~ * ESEARCH (TAG "a") ALL 5,3,2,1 MODSEQ 1236
S: a OK Extended SORT completed
""",
    ),
    TextExample(
        "7162",
        "3.1.12",
        r"""
C: a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)
S~ * 101 FETCH (MODSEQ (303011130956) FLAGS ($Processed \Deleted \Answered))
""",
    ),
    TextExample(
        "7162",
        "3.2.5",
        r"""
C: A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))
S: * 464 EXISTS
S: * 3 RECENT
S: * OK [UIDVALIDITY 3857529045] UIDVALIDITY
S: * OK [UIDNEXT 550] Predicted next UID
S: * OK [HIGHESTMODSEQ 90060128194045007] Highest mailbox mod-sequence
S: * OK [UNSEEN 12] Message 12 is first unseen
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*)] Permanent flags
S: A02 OK [READ-WRITE] Sorry, UIDVALIDITY mismatch
""",
    ),
    TextExample(
        "7162",
        "3.2.5.1",
        r"""
C: A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))
S: * OK [CLOSED]
S: * 100 EXISTS
S: * 11 RECENT
S: * OK [UIDVALIDITY 67890007] UIDVALIDITY
S: * OK [UIDNEXT 600] Predicted next UID
S: * OK [HIGHESTMODSEQ 90060115205545359] Highest mailbox mod-sequence
S: * OK [UNSEEN 7] There are some unseen messages in the mailbox
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*)] Permanent flags
S: * VANISHED (EARLIER) 41,43:116,118,120:211,214:540
S: * 49 FETCH (UID 117 FLAGS (\Seen \Answered) MODSEQ (90060115194045001))
S: * 50 FETCH (UID 119 FLAGS (\Draft $MDNSent) MODSEQ (90060115194045308))
S: * 51 FETCH (UID 541 FLAGS (\Seen $Forwarded) MODSEQ (90060115194045001))
S: A03 OK [READ-WRITE] mailbox selected
""",
    ),
    # The VANISHED line of the first example elides its middle ("[...]").
    TextExample(
        "7162",
        "3.2.5.2",
        r"""
C: A04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997))
S: * 10003 EXISTS
S: * 4 RECENT
S: * OK [UIDVALIDITY 67890007] UIDVALIDITY
S: * OK [UIDNEXT 30013] Predicted next UID
S: * OK [HIGHESTMODSEQ 90060115205545359] Highest mailbox mod-sequence
S: * OK [UNSEEN 7] There are some unseen messages in the mailbox
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*)] Permanent flags
S: * 1 FETCH (UID 3 FLAGS (\Seen \Answered $Important) MODSEQ (90060115194045001))
S: * 9889 FETCH (UID 29667 FLAGS (\Seen \Answered) MODSEQ (90060115194045027))
S: * 9890 FETCH (UID 29670 FLAGS (\Draft $MDNSent) MODSEQ (90060115194045028))
S: * 9999 FETCH (UID 29997 FLAGS (\Seen $Forwarded) MODSEQ (90060115194045031))
S: A04 OK [READ-WRITE] mailbox selected
C: B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))
S: * 10003 EXISTS
S: * 4 RECENT
S: * OK [UIDVALIDITY 67890007] UIDVALIDITY
S: * OK [UIDNEXT 30013] Predicted next UID
S: * OK [HIGHESTMODSEQ 90060115205545359] Highest mailbox mod-sequence
S: * OK [UNSEEN 7] There are some unseen messages in the mailbox
S: * FLAGS (\Answered \Flagged \Draft \Deleted \Seen)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Draft \Deleted \Seen \*)] Permanent flags
S: * 1 FETCH (UID 3 FLAGS (\Seen \Answered $Important) MODSEQ (90060115194045001))
S: * 9889 FETCH (UID 29667 FLAGS (\Seen \Answered) MODSEQ (90060115194045027))
S: * 9890 FETCH (UID 29670 FLAGS (\Draft $MDNSent) MODSEQ (90060115194045028))
S: * 9999 FETCH (UID 29997 FLAGS (\Seen $Forwarded) MODSEQ (90060115194045031))
S: B04 OK [READ-WRITE] mailbox selected
""",
    ),
    TextExample(
        "7162",
        "3.2.6",
        r"""
C: s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345)
S~ * 1 FETCH (UID 404 MODSEQ (65402) FLAGS (\Seen))
S~ * 2 FETCH (UID 406 MODSEQ (75403) FLAGS (\Deleted))
S~ * 4 FETCH (UID 408 MODSEQ (29738) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
C: s101 UID SEARCH 300:500
S: * SEARCH 404 406 407 408 410 412
S: s101 OK search completed
C: s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)
S: * VANISHED (EARLIER) 300:310,405,411
S~ * 1 FETCH (UID 404 MODSEQ (65402) FLAGS (\Seen))
S~ * 2 FETCH (UID 406 MODSEQ (75403) FLAGS (\Deleted))
S~ * 4 FETCH (UID 408 MODSEQ (29738) FLAGS ($NoJunk $AutoJunk $MDNSent))
S: s100 OK FETCH completed
""",
    ),
    TextExample(
        "7162",
        "3.2.7",
        r"""
C: A202 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 5 EXPUNGE
S: * 8 EXPUNGE
S: A202 OK [HIGHESTMODSEQ 20010715194045319] expunged
C: B202 EXPUNGE
S: * VANISHED 405,407,410,425
S: B202 OK [HIGHESTMODSEQ 20010715194045319] expunged
""",
    ),
    TextExample(
        "7162",
        "3.2.8",
        r"""
C: A202 CLOSE
S: A202 OK done
""",
    ),
    TextExample(
        "7162",
        "3.2.9",
        r"""
C: . UID EXPUNGE 3000:3002
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: . OK [HIGHESTMODSEQ 20010715194045319] Ok
""",
    ),
    # The last three lines are the RFC's examples of a broken server (valid
    # syntax, wrong semantics).
    TextExample(
        "7162",
        "3.2.10.2",
        r"""
C: A202 EXPUNGE
S: * VANISHED 505,507,510,625
S: A202 OK EXPUNGE completed
C: A202 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 5 EXPUNGE
S: * 8 EXPUNGE
S: A202 OK EXPUNGE completed
C: A210 EXPUNGE
S: * VANISHED 504,508
S: A210 OK EXPUNGE completed
S: * VANISHED 1
S: * VANISHED 3
S: * VANISHED 5
""",
    ),
    # "A152 NOOP" is answered with tag A153 in the RFC (a slip; it parses).
    TextExample(
        "7162",
        "6",
        r"""
C~ A150 STORE 1:2 (UNCHANGEDSINCE 96) +FLAGS.SILENT \Seen
S: * 1 FETCH (UID 6 MODSEQ (103))
S: * 2 FETCH (UID 7 MODSEQ (101))
S: * OK [HIGHESTMODSEQ 99] VANISHED reply with MODSEQ 100 is delayed
S: A150 OK [MODIFIED 3] done
C~ A151 STORE 3 +FLAGS.SILENT \Seen
S: * 3 FETCH (UID 8 MODSEQ (104))
S: A151 OK [HIGHESTMODSEQ 99] Still delaying VANISHED
C: A152 NOOP
S: * VANISHED 8
S: A153 OK [HIGHESTMODSEQ 104] done
""",
    ),
    # ---- RFC 7888 (LITERAL+, LITERAL-) ---------------------------------------
    # The client writes a non-synchronising literal only when the server
    # advertised LITERAL+/LITERAL- (the connection's choice); the codec's
    # default is the quoted form of the second example, so the first is "~".
    TextExample(
        "7888",
        "3",
        r"""
C~ A001 LOGIN {11+}
C: FRED FOOBAR {7+}
C: fat man
S: A001 OK LOGIN completed
C: A001 LOGIN "FRED FOOBAR" "fat man"
S: A001 OK LOGIN completed
""",
    ),
    # ---- RFC 2342 (NAMESPACE) -------------------------------------------------
    # Example 5.5's "NIL  NIL" has two spaces, which the RFC 3501 grammar
    # (one SP) does not allow; RFC 9051 §6.3.10 repeats it.  The corrected
    # line is tested.
    TextExample(
        "2342",
        "5",
        r"""
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE NIL NIL (("" "."))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) NIL (("Public Folders/" "/"))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")("#ftp/" "/")("#news." "."))
S: A001 OK NAMESPACE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("INBOX." ".")) NIL NIL
S: A001 OK NAMESPACE command completed
C: A002 CREATE "INBOX.Sent Mail"
S: A002 OK CREATE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL
S: A001 OK NAMESPACE command completed
C: A002 CREATE "Sent Mail"
S: A002 OK CREATE command completed
C: A003 CREATE "Delete Items"
S: A003 OK CREATE command completed
C: A004 CREATE "#mh/Deleted Items"
S: A004 OK CREATE command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("Other Users/" "/")) NIL
S: A001 OK NAMESPACE command completed
C: A002 LIST "" "Other Users/%"
S: * LIST () "/" "Other Users/Mike"
S: * LIST () "/" "Other Users/Karen"
S: * LIST () "/" "Other Users/Matthew"
S: * LIST () "/" "Other Users/Tesa"
S: A002 OK LIST command completed
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("#Users/" "/")) NIL
S: A001 OK NAMESPACE command completed
C~ A002 LIST "" "#Users/%"
S: A002 NO The requested item could not be found.
C~ A003 LIST "" "#Users/Mike/%"
S~ * LIST () "/" "#Users/Mike/INBOX"
S~ * LIST () "/" "#Users/Mike/Foo"
S: A003 OK LIST command completed.
C: A001 NAMESPACE
S: * NAMESPACE (("" "/")) (("~" "/")) NIL
S: A001 OK NAMESPACE command completed
C~ A002 LIST "" "~mark/%"
S~ * LIST () "/" "~mark/INBOX"
S~ * LIST () "/" "~mark/foo"
S: A002 OK LIST command completed
""",
    ),
    # ---- RFC 9208 (QUOTA) -----------------------------------------------------
    # The "* CAPABILITY [...] QUOTA ..." lines elide part of the list and
    # the "// ..." lines are the RFC's comments: both left out.  Quota-root
    # names that are valid atoms are written unquoted ("~").
    TextExample(
        "9208",
        "4.1.1",
        r"""
C~ G0001 GETQUOTA "!partition/sda4"
S~ * QUOTA "!partition/sda4" (STORAGE 104 10923847)
S: G0001 OK Getquota complete
""",
    ),
    TextExample(
        "9208",
        "4.1.2",
        r"""
C: G0002 GETQUOTAROOT INBOX
S~ * QUOTAROOT INBOX "#user/alice" "!partition/sda4"
S~ * QUOTA "#user/alice" (MESSAGE 42 1000)
S~ * QUOTA "!partition/sda4" (STORAGE 104 10923847)
S: G0002 OK Getquotaroot complete
""",
    ),
    TextExample(
        "9208",
        "4.1.3",
        r"""
C~ S0000 GETQUOTA "#user/alice"
S~ * QUOTA "#user/alice" (STORAGE 54 111 MESSAGE 42 1000)
S: S0000 OK Getquota completed
C~ S0001 SETQUOTA "#user/alice" (STORAGE 510)
S~ * QUOTA "#user/alice" (STORAGE 58 512)
S: S0001 OK Rounded quota
C~ S0002 SETQUOTA "!partition/sda4" (STORAGE 99999999)
S~ * QUOTA "!partition/sda4" (STORAGE 104 10923847)
S: S0002 NO Cannot change system limit
""",
    ),
    TextExample(
        "9208",
        "4.1.4",
        r"""
C: S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)
S: * STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE 8)
S: S0003 OK Status complete.
""",
    ),
    TextExample(
        "9208",
        "4.2.1",
        r"""
S: * QUOTA "" (STORAGE 10 512)
""",
    ),
    TextExample(
        "9208",
        "4.2.2",
        r"""
S: * QUOTAROOT INBOX ""
S: * QUOTAROOT comp.mail.mime
""",
    ),
    TextExample(
        "9208",
        "4.3.1",
        r"""
C: A003 APPEND saved-messages (\Seen) {326}
S: + Ready for literal data
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@Blurdybloop.example>
C: Subject: afternoon meeting
C: To: mooch@owatagu.siam.edu.example
C: Message-Id: <B27397-0100000@Blurdybloop.example>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: A003 NO [OVERQUOTA] APPEND Failed
C: A003 APPEND saved-messages (\Seen) {326}
S: + Ready for literal data
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@Blurdybloop.example>
C: Subject: afternoon meeting
C: To: mooch@owatagu.siam.edu.example
C: Message-Id: <B27397-0100000@Blurdybloop.example>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: * NO [OVERQUOTA] Soft quota has been exceeded
S: A003 OK [APPENDUID 38505 3955] APPEND completed
C: A004 COPY 2:4 MEETING
S: * NO [OVERQUOTA] Soft quota has been exceeded
S: A004 OK [COPYUID 38505 304,319:320 3956:3958] COPY command completed
""",
    ),
    # ---- RFC 5258 (LIST-EXTENDED) §5, examples 1-11 --------------------------
    # Mailbox names and patterns that are valid atoms are written unquoted,
    # and extended-data tags quoted: those lines are "~".
    TextExample(
        "5258",
        "5",
        r"""
C~ A01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "Fruit"
S~ * LIST () "/" "Fruit/Apple"
S~ * LIST () "/" "Fruit/Banana"
S~ * LIST () "/" "Tofu"
S~ * LIST () "/" "Vegetable"
S~ * LIST () "/" "Vegetable/Broccoli"
S~ * LIST () "/" "Vegetable/Corn"
S: A01 OK done
C~ A02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST (\Subscribed \NonExistent) "/" "Fruit/Peach"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S: A02 OK done
C~ A03 LIST () "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Fruit"
S~ * LIST (\HasNoChildren) "/" "Tofu"
S~ * LIST (\HasChildren) "/" "Vegetable"
S: A03 OK done
C~ A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Fruit"
S~ * LIST (\HasNoChildren) "/" "Tofu"
S~ * LIST (\HasChildren) "/" "Vegetable"
S~ * LIST (\Remote) "/" "Bread"
S~ * LIST (\HasChildren \Remote) "/" "Meat"
S: A04 OK done
C~ A05 LIST (REMOTE SUBSCRIBED) "" "*"
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST (\Subscribed \NonExistent) "/" "Fruit/Peach"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S~ * LIST (\Remote \Subscribed) "/" "Bread"
S: A05 OK done
C~ A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)
S~ * LIST (\Marked \NoInferiors \Subscribed) "/" "inbox"
S~ * LIST () "/" "Fruit"
S~ * LIST () "/" "Fruit/Apple"
S~ * LIST (\Subscribed) "/" "Fruit/Banana"
S~ * LIST () "/" "Tofu"
S~ * LIST (\Subscribed) "/" "Vegetable"
S~ * LIST (\Subscribed) "/" "Vegetable/Broccoli"
S~ * LIST () "/" "Vegetable/Corn"
S~ * LIST (\Remote \Subscribed) "/" "Bread"
S~ * LIST (\Remote) "/" "Meat"
S: A06 OK done
C~ BBB LIST "" ("INBOX" "Drafts" "Sent/%")
S~ * LIST () "/" "INBOX"
S~ * LIST (\NoInferiors) "/" "Drafts"
S~ * LIST () "/" "Sent/March2004"
S~ * LIST (\Marked) "/" "Sent/December2003"
S~ * LIST () "/" "Sent/August2004"
S: BBB OK done
C~ C01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "Foo"
S~ * LIST () "/" "Foo/Bar"
S~ * LIST () "/" "Foo/Baz"
S~ * LIST () "/" "Moo"
S: C01 OK done
C~ CA3 LIST "" "%" RETURN (CHILDREN)
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST (\HasChildren) "/" "Foo"
S~ * LIST (\HasNoChildren) "/" "Moo"
S: CA3 OK done
C~ C02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Subscribed) "/" "Foo/Baz"
S: C02 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\Subscribed \HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
S~ * LIST (\NonExistent) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))
S: C04 OK done
C~ C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)
S~ * LIST (\HasChildren \Subscribed) "/" "Foo"
S~ * LIST (\HasNoChildren \Subscribed) "/" "Moo"
S: C04 OK done
C~ D01 LIST "" "*"
S~ * LIST (\Marked \NoInferiors) "/" "inbox"
S~ * LIST () "/" "foo2"
S~ * LIST () "/" "foo2/bar1"
S~ * LIST () "/" "foo2/bar2"
S~ * LIST () "/" "baz2"
S~ * LIST () "/" "baz2/bar2"
S~ * LIST () "/" "baz2/bar22"
S~ * LIST () "/" "baz2/bar222"
S~ * LIST () "/" "eps2"
S~ * LIST () "/" "eps2/mamba"
S~ * LIST () "/" "qux2/bar2"
S: D01 OK done
C~ D02 LIST (SUBSCRIBED) "" "*"
S~ * LIST (\Subscribed) "/" "foo2/bar1"
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2"
S~ * LIST (\Subscribed) "/" "eps2/mamba"
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D02 OK done
C~ D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"
S~ * LIST () "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D03 OK done
S~ * LIST () "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\NonExistent) "/" "qux2" ("CHILDINFO" ("SUBSCRIBED"))
C~ D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"
S~ * LIST () "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "foo2/bar1"
S~ * LIST (\Subscribed) "/" "foo2/bar2"
S~ * LIST () "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "baz2/bar2"
S~ * LIST (\Subscribed) "/" "baz2/bar22"
S~ * LIST (\Subscribed) "/" "baz2/bar222"
S~ * LIST (\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))
S~ * LIST (\Subscribed) "/" "eps2/mamba"
S~ * LIST (\Subscribed) "/" "qux2/bar2"
S: D03 OK done
C~ a1 LIST "" ("foo" "foo/*")
S: * LIST () "/" foo
S: a1 OK done
C~ a2 LIST (SUBSCRIBED) "" "foo/*"
S: * LIST (\Subscribed \NonExistent) "/" foo/bar
S: a2 OK done
C: a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)
S: * LIST (\HasNoChildren) "/" foo ("CHILDINFO" ("SUBSCRIBED"))
S: a3 OK done
C: a1 LIST (REMOTE) "" *
S: * LIST () "/" music/rock
S: * LIST (\Remote) "/" also/jazz
S: a1 OK done
C: a2 LIST () "" %
S: * LIST (\NonExistent \HasChildren) "/" music
S: a2 OK done
C: a3 LIST (REMOTE) "" %
S: * LIST (\NonExistent \HasChildren) "/" music
S: * LIST (\NonExistent \HasChildren) "/" also
S: a3 OK done
C: a3.1 LIST "" (% music/rock)
S: * LIST () "/" music/rock
S: a3.1 OK done
""",
    ),
    # ---- RFC 3516 (BINARY) has no Example block; its grammar is covered by
    # RESPONSES/COMMANDS above (BINARY[...], BINARY.SIZE, literal8).
    # ---- RFC 5819 (LIST-STATUS) ---------------------------------------------
    # The RFC text has `"."  "INBOX"` (two spaces) twice and
    # `(SUBSCRIBED RECURSIVEMATCH)""` (no space) once; the grammar wants one SP
    # each time, and the corrected lines are tested.  Names and patterns that
    # are atoms are written unquoted ("~").
    TextExample(
        "5819",
        "3",
        r"""
C: A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
S~ * LIST () "." "INBOX"
S~ * STATUS "INBOX" (MESSAGES 17 UNSEEN 16)
S~ * LIST () "." "foo"
S~ * STATUS "foo" (MESSAGES 30 UNSEEN 29)
S~ * LIST (\NoSelect) "." "bar"
S: A01 OK List completed.
C: A02 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (STATUS (MESSAGES))
S~ * LIST (\Subscribed) "." "INBOX"
S~ * STATUS "INBOX" (MESSAGES 17)
S~ * LIST () "." "foo" (CHILDINFO ("SUBSCRIBED"))
S: A02 OK List completed.
""",
    ),
    # ---- RFC 6154 (SPECIAL-USE) ---------------------------------------------
    # §5.4's GETMETADATA/SETMETADATA commands (RFC 5464) are outside the
    # codec's command set and are not tested; their METADATA responses are
    # kept as unknown responses.  Patterns that are atoms are written
    # unquoted ("~").
    TextExample(
        "6154",
        "5.1",
        r"""
C~ t1 LIST "" "%"
S: * LIST (\Marked \HasNoChildren) "/" Inbox
S: * LIST (\HasNoChildren) "/" ToDo
S: * LIST (\HasChildren) "/" Projects
S: * LIST (\Sent \HasNoChildren) "/" SentMail
S: * LIST (\Marked \Drafts \HasNoChildren) "/" MyDrafts
S: * LIST (\Trash \HasNoChildren) "/" Trash
S: t1 OK done
""",
    ),
    TextExample(
        "6154",
        "5.2",
        r"""
C: t1 CAPABILITY
S: * CAPABILITY IMAP4rev1 SPECIAL-USE
S: t1 OK done
C~ t2 LIST "" "%" RETURN (SPECIAL-USE)
S: * LIST (\Marked) "/" Inbox
S: * LIST () "/" ToDo
S: * LIST () "/" Projects
S: * LIST (\Sent) "/" SentMail
S: * LIST (\Marked \Drafts) "/" MyDrafts
S: * LIST (\Trash) "/" Trash
S: t2 OK done
C~ t3 LIST (SPECIAL-USE) "" "*"
S: * LIST (\Sent) "/" SentMail
S: * LIST (\Marked \Drafts) "/" MyDrafts
S: * LIST (\Trash) "/" Trash
S: t3 OK done
""",
    ),
    TextExample(
        "6154",
        "5.3",
        r"""
C: t1 CAPABILITY
S: * CAPABILITY IMAP4rev1 CREATE-SPECIAL-USE
S: t1 OK done
C: t2 CREATE MySpecial (USE (\Drafts \Sent))
S: t2 OK MySpecial created
C: t3 CREATE Everything (USE (\All))
S: t3 NO [USEATTR] \All not supported
""",
    ),
    TextExample(
        "6154",
        "5.4",
        r"""
C~ t1 LIST "" "%" RETURN (SPECIAL-USE)
S: * LIST (\Sent) "/" SentMail
S: * LIST (\Drafts) "/" MyDrafts
S: * LIST () "/" SavedDrafts
S: * LIST (\Trash) "/" Trash
S: t1 OK done
S: * METADATA "MyDrafts" (/private/specialuse "\\Drafts")
S: t2 OK done
S: * METADATA "MyDrafts" (/private/specialuse NIL)
S: t3 OK SETMETADATA complete
S: t4 OK SETMETADATA complete
C~ t5 LIST "" "%" RETURN (SPECIAL-USE)
S: * LIST () "/" SentMail
S: * LIST () "/" MyDrafts
S: * LIST (\Drafts) "/" SavedDrafts
S: * LIST (\Trash) "/" Trash
S: t5 OK done
""",
    ),
    # ---- RFC 5161 (ENABLE) --------------------------------------------------
    TextExample(
        "5161",
        "3.1",
        r"""
C: t1 CAPABILITY
S: * CAPABILITY IMAP4rev1 ID LITERAL+ ENABLE X-GOOD-IDEA
S: t1 OK foo
C: t2 ENABLE CONDSTORE X-GOOD-IDEA
S: * ENABLED X-GOOD-IDEA
S: t2 OK foo
C: t3 CAPABILITY
S: * CAPABILITY IMAP4rev1 ID LITERAL+ ENABLE X-GOOD-IDEA
S: t3 OK foo again
C: a1 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: a1 OK Conditional Store enabled
""",
    ),
    # ---- RFC 4315 (UIDPLUS) -------------------------------------------------
    # The APPEND example shows no "+" before the literal (the RFC leaves the
    # continuation out); the client stream is the same either way.
    TextExample(
        "4315",
        "2.1",
        r"""
C: A003 UID EXPUNGE 3000:3002
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: * 3 EXPUNGE
S: A003 OK UID EXPUNGE completed
""",
    ),
    TextExample(
        "4315",
        "3",
        r"""
C: A003 APPEND saved-messages (\Seen) {297}
C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
C: From: Fred Foobar <foobar@example.com>
C: Subject: afternoon meeting
C: To: mooch@example.com
C: Message-Id: <B27397-0100000@example.com>
C: MIME-Version: 1.0
C: Content-Type: TEXT/PLAIN; CHARSET=US-ASCII
C:
C: Hello Joe, do you think we can meet at 3:30 tomorrow?
C:
S: A003 OK [APPENDUID 38505 3955] APPEND completed
C: A004 COPY 2:4 meeting
S: A004 OK [COPYUID 38505 304,319:320 3956:3958] Done
C: A005 UID COPY 305:310 meeting
S: A005 OK No matching messages, so nothing copied
C: A006 COPY 2 funny
S: A006 OK Done
C: A007 SELECT funny
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] Message 1 is first unseen
S: * OK [UIDVALIDITY 3857529045] Validity session-only
S: * OK [UIDNEXT 2] Predicted next UID
S: * NO [UIDNOTSTICKY] Non-persistent UIDs
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen)] Limited
S: A007 OK [READ-WRITE] SELECT completed
""",
    ),
    # ---- RFC 6851 (MOVE) ----------------------------------------------------
    # "S: (more expunges)" is prose, left out.
    TextExample(
        "6851",
        "3.3",
        r"""
C: a UID MOVE 42:69 foo
S: * OK [COPYUID 432432 42:69 1202:1229]
S: * 22 EXPUNGE
S: a OK Done
""",
    ),
    # ---- RFC 4978 (COMPRESS) ------------------------------------------------
    # Lower-case command names are written upper case by us ("~").  The
    # first example answers "c compress deflate" with tag "d" (a slip in the
    # RFC text; it parses).  "[...]" is left out.
    TextExample(
        "4978",
        "3",
        r"""
S: * OK [CAPABILITY IMAP4REV1 STARTTLS COMPRESS=DEFLATE]
C~ a starttls
S: a OK TLS active
C~ b login arnt tnra
S: b OK Logged in as arnt
C~ c compress deflate
S: d OK DEFLATE active
S: * OK [CAPABILITY IMAP4REV1 STARTTLS COMPRESS=DEFLATE]
C~ c compress deflate
S: c NO [COMPRESSIONACTIVE] DEFLATE active via TLS
""",
    ),
    # ---- RFC 4959 (SASL-IR) -------------------------------------------------
    # The RFC notes that "S: +" has a space after the "+".
    TextExample(
        "4959",
        "4",
        r"""
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN
S: C01 OK Completed
C: A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: A01 OK Success (tls protection)
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN
S: C01 OK Completed
C: A01 AUTHENTICATE PLAIN
S: +{SP}
A: dGVzdAB0ZXN0AHRlc3Q=
S: A01 OK Success (tls protection)
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=EXTERNAL
S: C01 OK Completed
C: A01 AUTHENTICATE EXTERNAL =
S: A01 OK Success (tls protection)
C: C01 CAPABILITY
S: * CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=EXTERNAL
S: C01 OK Completed
C: A01 AUTHENTICATE EXTERNAL
S: +{SP}
A:
S: A01 OK Success (tls protection)
""",
    ),
    # ---- RFC 2177 (IDLE) ----------------------------------------------------
    # "* FLAGS (Deleted Seen)" is printed without backslashes: as written it
    # is a list of two keywords (valid syntax, surely meant \Deleted \Seen),
    # and is tested as printed.  "* 4 FETCH (...)" and "* 3 FETCH (...)" are
    # elided in the RFC.
    TextExample(
        "2177",
        "3",
        r"""
C: A001 SELECT INBOX
S: * FLAGS (Deleted Seen)
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY 1]
S: A001 OK SELECT completed
C: A002 IDLE
S: + idling
S: * 4 EXISTS
C: DONE
S: A002 OK IDLE terminated
C: A003 FETCH 4 ALL
S: A003 OK FETCH completed
C: A004 IDLE
S: * 2 EXPUNGE
S: * 3 EXISTS
S: + idling
S: * 3 EXPUNGE
S: * 2 EXISTS
S: * 3 EXISTS
C: DONE
S: A004 OK IDLE terminated
C: A005 FETCH 3 ALL
S: A005 OK FETCH completed
C: A006 IDLE
""",
    ),
    # ---- RFC 3691 (UNSELECT) ------------------------------------------------
    TextExample(
        "3691",
        "2",
        r"""
C: A341 UNSELECT
S: A341 OK Unselect completed
""",
    ),
    # ---- RFC 8474 (OBJECTID) ------------------------------------------------
    # The APPEND commands of §5.3 elide their literals ("[...]"), so only
    # the server lines are kept; "[...]" lines are left out.  Lower-case
    # commands and quoted atoms are respelled by us ("~").
    TextExample(
        "8474",
        "4.1",
        r"""
C~ 3 create foo
S: 3 OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Completed
C~ 4 create bar
S: 4 OK [MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3)] Completed
C~ 5 create foo
S: 5 NO Mailbox already exists
""",
    ),
    TextExample(
        "8474",
        "4.2",
        r"""
C~ 27 select "foo"
S: * OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok
S: 27 OK [READ-WRITE] Completed
""",
    ),
    TextExample(
        "8474",
        "4.3",
        r"""
C~ 6 status foo (mailboxid)
S: * STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))
S: 6 OK Completed
C~ 7 status bar (mailboxid)
S: * STATUS bar (MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3))
S: 7 OK Completed
C~ 8 rename foo renamed
S: * OK rename foo renamed
S: 8 OK Completed
C~ 9 status renamed (mailboxid)
S: * STATUS renamed (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))
S: 9 OK Completed
C~ 10 status bar (mailboxid)
S: * STATUS bar (MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3))
S: 10 OK Completed
C~ 11 list "" "*" return (status (mailboxid))
S: * LIST (\HasNoChildren) "." INBOX
S: * STATUS INBOX (MAILBOXID (Ff8e3ead4-9389-4aff-adb1-d8d89efd8cbf))
S: * LIST (\HasNoChildren) "." bar
S: * STATUS bar (MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3))
S: * LIST (\HasNoChildren) "." renamed
S: * STATUS renamed (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))
S: 11 OK Completed (0.001 secs 3 calls)
""",
    ),
    # The RFC prints "C: 25 select "foo"" twice; both are kept.
    TextExample(
        "8474",
        "5.3",
        r"""
S: 5 OK [APPENDUID 1521475658 1] Completed
S: 11 OK [APPENDUID 1521475658 2] Completed
S: 17 OK [APPENDUID 1521475658 3] Completed
C~ 22 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))
S: * 2 FETCH (EMAILID (M288836c4c7a762) THREADID (T64b478a75b7ea9))
S: * 3 FETCH (EMAILID (M5fdc09b49ea703) THREADID (T11863d02dd95b5))
S: 22 OK Completed (0.000 sec)
C~ 23 move 2 foo
S: * OK [COPYUID 1521475659 2 1] Completed
S: * 2 EXPUNGE
S: 23 OK Completed
C~ 24 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))
S: * 2 FETCH (EMAILID (M5fdc09b49ea703) THREADID (T11863d02dd95b5))
S: 24 OK Completed (0.000 sec)
C~ 25 select "foo"
C~ 25 select "foo"
S: 25 OK [READ-WRITE] Completed
C~ 26 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID (M288836c4c7a762) THREADID (T64b478a75b7ea9))
S: 26 OK Completed (0.000 sec)
C~ 26 fetch 1:* (emailid threadid)
S: * 1 FETCH (EMAILID (M00000001) THREADID NIL)
S: * 2 FETCH (EMAILID (M00000002) THREADID NIL)
S: 26 OK Completed (0.000 sec)
""",
    ),
    TextExample(
        "8474",
        "6",
        r"""
C~ 27 search emailid M6d99ac3275bb4e
S: * SEARCH 1
S: 27 OK Completed (1 msgs in 0.000 secs)
C~ 28 search threadid T64b478a75b7ea9
S: * SEARCH 1 2
S: 28 OK Completed (2 msgs in 0.000 secs)
""",
    ),
    # ---- RFC 8970 (PREVIEW) §5 ----------------------------------------------
    # Example 2's first four FETCH lines elide their ENVELOPE ("[...]") and
    # are left out, as are the "[...]" prose lines.
    TextExample(
        "8970",
        "5",
        r"""
C: A1 CAPABILITY
S: * CAPABILITY IMAP4rev1 PREVIEW
S: A1 OK Capability command completed.
C: A2 FETCH 1 (RFC822.SIZE PREVIEW)
S: * 1 FETCH (RFC822.SIZE 5647 PREVIEW {200}
S: Lorem ipsum dolor sit amet, consectetur adipiscing elit.
S: Curabitur aliquam turpis et ante dictum, et pulvinar dui congue.
S: Maecenas hendrerit, lorem non imperdiet pellentesque, nulla
S: ligula nullam
S: )
S: A2 OK FETCH complete.
C: B1 FETCH 1:4 (ENVELOPE PREVIEW (LAZY))
S: B1 OK FETCH completed.
C: B2 FETCH 3:4 (PREVIEW)
S: * 3 FETCH (PREVIEW {30}
S: Message data from message 3.
S: )
S: * 4 FETCH (PREVIEW "Message 4 preview")
S: B2 OK Fetch completed.
C: C1 CAPABILITY
S: * CAPABILITY IMAP4rev1 PREVIEW SEARCHRES
S: C1 OK Capability command completed.
C~ C2 SEARCH RETURN (SAVE) FROM "FOO"
C: C3 FETCH $ (UID PREVIEW (LAZY))
S: C2 OK SEARCH completed.
S: * 5 FETCH (UID 13 PREVIEW "Preview!")
S: * 9 FETCH (UID 23 PREVIEW NIL)
S: C3 OK FETCH completed.
C: C4 UID FETCH 23 (PREVIEW)
S: * 9 FETCH (UID 23 PREVIEW "Another preview!")
S: C4 OK FETCH completed.
""",
    ),
    # ---- RFC 5530 (response codes) §3 ---------------------------------------
    # "[...]" lines are left out (the c1/c2 AUTHENTICATE commands are
    # complete before them).  Lower-case commands and quoted atoms are
    # respelled by us ("~").  (UNAVAILABLE's example precedes the part of
    # the text read here; RFC 9051 §7.1 repeats it and is tested above.)
    TextExample(
        "5530",
        "3",
        r"""
C~ b LOGIN "fred" "foo"
S: b NO [AUTHENTICATIONFAILED] Authentication failed
C: c1 AUTHENTICATE PLAIN
S: c1 NO [AUTHORIZATIONFAILED] No such authorization-ID
C: c2 AUTHENTICATE PLAIN
S: c2 NO [AUTHORIZATIONFAILED] Authenticator is not an admin
C~ d login "fred" "foo"
S: d NO [EXPIRED] That password isn't valid any more
C~ d login "fred" "foo"
S: d NO [PRIVACYREQUIRED] Connection offers no privacy
C~ d select inbox
S: d NO [PRIVACYREQUIRED] Connection offers no privacy
C~ e login "fred" "foo"
S: e OK [CONTACTADMIN]
C~ f select "/archive/projects/experiment-iv"
S: f NO [NOPERM] Access denied
C~ g delete "/archive/projects/experiment-iv"
S: g NO [INUSE] Mailbox in use
C~ h search from fred@example.com
S: * SEARCH 1 2 3 5 8 13 21 42
S: h OK [EXPUNGEISSUED] Search completed
C~ i select "/archive/projects/experiment-iv"
S: i NO [CORRUPTION] Cannot open mailbox
C~ j select "/archive/projects/experiment-iv"
S: j NO [SERVERBUG] This should not happen
C~ k1 select "/archive/projects/experiment-iv"
S: k1 OK [READ-ONLY] Done
C~ k2 status "/archive/projects/experiment-iv" (messages)
S: k2 OK [CLIENTBUG] Done
C~ l create "///////"
S: l NO [CANNOT] Adjacent slashes are not supported
C~ m STORE 42 FLAGS f1 f2 f3 f4 f5 ... f250
S: m NO [LIMIT] At most 32 flags in one mailbox supported
C~ n1 uid copy 1:* oldmail
S: n1 NO [OVERQUOTA] Sorry
C~ n2 uid copy 1:* oldmail
S: n2 OK [OVERQUOTA] You are now over your soft quota
C: o RENAME this that
S: o NO [ALREADYEXISTS] Mailbox "that" already exists
C: p RENAME this that
S: p NO [NONEXISTENT] No such mailbox
""",
    ),
]
