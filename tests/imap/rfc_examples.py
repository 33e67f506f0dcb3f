# ruff: noqa: E501
"""Wire examples from the RFCs, as (bytes, canonical) pairs.

``canonical`` is True when our serialiser must reproduce the example byte for
byte; otherwise the example uses a legal but different spelling (an atom
where we send a quoted string, a lower-case keyword ...) and only
``parse(serialize(parse(x))) == parse(x)`` is checked.

Sources: RFC 3501 §§6-7, RFC 9051 §§6-7, and the extension RFCs named beside
each group.
"""

from __future__ import annotations

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
