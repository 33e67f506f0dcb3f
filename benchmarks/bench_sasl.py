"""SCRAM-SHA-256 and PLAIN server-side cost per login, mailproto vs scramp."""

import timeit

import scramp

from mailproto import sasl

creds = sasl.scram_credentials("pencil", b"0123456789abcdef", 4096)
client = sasl.ScramSHA256Client(username="user", password="pencil", nonce="CLIENTNONCE")
server = sasl.ScramSHA256Server(nonce="SERVERNONCE")
first = client.initial_response()
server.step(first)
final = client.respond(server.answer(creds).data)
auth_info = (creds.salt, creds.stored_key, creds.server_key, creds.iterations)
mech = scramp.ScramMechanism("SCRAM-SHA-256")


def ours() -> None:
    s = sasl.ScramSHA256Server(nonce="SERVERNONCE")
    s.step(first)
    s.answer(creds)
    s.step(final)


def theirs() -> None:
    s = mech.make_server(lambda username: auth_info, s_nonce="SERVERNONCE")
    s.set_client_first(first.decode())
    s.get_server_first()
    s.set_client_final(final.decode())
    s.get_server_final()


def plain() -> None:
    s = sasl.PlainServer()
    q = s.step(b"\x00user\x00pencil")
    s.answer(q.matches("pencil"))


def best(fn: object, n: int = 5000) -> float:
    return (
        min(
            timeit.repeat(
                fn,  # type: ignore[call-overload]
                number=n,
                repeat=5,
            )
        )
        / n
        * 1e6
    )


a, b = best(ours), best(theirs)
print(f"SCRAM-SHA-256 server side: mailproto {a:.1f} us, scramp {b:.1f} us, ratio {b / a:.2f}x")
print(f"PLAIN server side incl. CheckPassword.matches: {best(plain, 20000):.1f} us")
